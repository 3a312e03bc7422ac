"""The project's distiller base: MMRazor's ``ConfigurableDistiller`` whose widths are
inferred from the models and checked against them when the algorithm is built."""
import torch
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS

from .connector_widths import ConnectorWidthsMixin, PendingConnector
from .dry_run import dry_forward, dry_input, measure_input
from .recorder_check import RecorderSourceCheckMixin
from .widths import (KEY, MISSING, MODEL_KEYS, WidthError, check_dry_run_shape,
                     default_dry_run_shape, feature_width, has_omitted, shape_of)

__all__ = ['StrictConfigurableDistiller', 'PendingConnector', 'KEY', 'MODEL_KEYS']


@MODELS.register_module()
class StrictConfigurableDistiller(RecorderSourceCheckMixin, ConnectorWidthsMixin,
                                  ConfigurableDistiller):
    """``ConfigurableDistiller`` (same arguments, plus ``dry_run_shape``) that infers
    omitted widths and finds every width mismatch when the algorithm is built.

    When the algorithm has handed over both models (``prepare_from_student`` and
    ``prepare_from_teacher``, called by MMRazor's ``SingleTeacherDistill.__init__``,
    before the optimizer exists), the distiller runs ONE dry forward of the teacher and
    the student on an input of ``dry_run_shape`` (eval mode, no gradients, a fixed
    random input from its own generator: no model state, RNG state or statistics
    change) with its recorders on, then walks every entry of ``loss_forward_mappings``:

    * connector widths omitted from ``connectors`` (``in_channels`` / ``out_channels``
      left out or None, also inside a ``SequentialConnector`` chain; see
      :mod:`.widths`) are inferred: an input width from the feature that reaches the
      connector, an output width from the other side of the loss it feeds (e.g. the
      teacher's feature of the same loss). Each inferred value is logged and kept in
      :attr:`inferred_widths` (config key -> value);
    * widths given explicitly are checked against the features that reach them;
    * every loss runs once on the dry-run features; a loss that fails (e.g. student
      and teacher tensors of different shapes) is reported with its key in
      ``distill_losses``, the shape of each input and the recorder / connector keys
      that produce it.

    Errors are :class:`~.widths.WidthError` (a ``ValueError``) and name the config key
    to change, e.g. ``model.distiller.connectors.vkd_s.in_channels: 64 given, but
    student recorder "feat" (model.architecture.neck) gives 32 channels``. Recorder
    sources that are not in a model raise :class:`~.recorder_check.RecorderSourceError`
    naming ``distiller.{student,teacher}_recorders.<name>.source``.

    Args:
        dry_run_shape (tuple | None | False): input of the dry run, (N, C, H, W).
            ``None`` (default): derived from the models
            (:func:`~.widths.default_dry_run_shape`: C from the first convolution,
            H x W from a ViT-style ``img_size`` or 32 x 32, N = 2). ``False``: no dry
            run; every width must then be given and nothing is checked at build time.
        **kwargs: as :class:`mmrazor.models.ConfigurableDistiller`.
    """

    def __init__(self, connectors=None, dry_run_shape=None, **kwargs):
        dry_run_shape = check_dry_run_shape(dry_run_shape, f'{KEY}.dry_run_shape')
        super().__init__(connectors=connectors, **kwargs)
        self.dry_run_shape = dry_run_shape
        #: config key -> value of every width the build-time dry run inferred
        self.inferred_widths = {}
        self._refs = dict(student=None, teacher=None)
        if dry_run_shape is False and self._pending:
            raise WidthError(
                f'{KEY}.dry_run_shape is False (no dry run), so the omitted widths of '
                f'{[f"{KEY}.connectors.{n}" for n in self._pending]} cannot be '
                'inferred: give them, or remove dry_run_shape')

    # -- the algorithm hands over the models -----------------------------------------
    def prepare_from_student(self, model):
        """Keep the student; recorders are set up (and widths inferred) once both
        models are known."""
        self._refs['student'] = [model]  # a list: not registered as a submodule
        if self._refs['teacher'] is not None:
            self._setup()

    def prepare_from_teacher(self, model):
        self._refs['teacher'] = [model]
        if self._refs['student'] is not None:
            self._setup()

    def _init_recorders(self, model, side):
        """Initialise one side's recorders (sources named in errors)."""
        prepare = getattr(ConfigurableDistiller, f'prepare_from_{side}')
        self._prepare_recorders(lambda m: prepare(self, m), model, side)

    def _pending_keys(self):
        return [f'{KEY}.connectors.{n}' for n in self._pending]

    def _setup(self):
        student, teacher = self._refs['student'][0], self._refs['teacher'][0]
        self._refs = dict(student=None, teacher=None)
        self._init_recorders(teacher, 'teacher')
        shape = self.dry_run_shape
        if shape is False:
            self._prepare_student_model(student, None)
            self._init_recorders(student, 'student')
            return
        origin = 'model.distiller.dry_run_shape'
        if shape is None:
            shape, origin = default_dry_run_shape(student, teacher)
            origin = f'derived from the models: {origin}; set {KEY}.dry_run_shape'
        self._dry_run_origin = f'{tuple(shape)}, {origin}'
        x = dry_input(shape, student)
        modes = [(m, m.training) for m in (student, teacher, self)]
        try:
            for m, _ in modes:
                m.eval()
            with torch.no_grad():
                dry_forward(teacher, self.teacher_recorders, x, 'teacher',
                            self._dry_run_origin)
                self._prepare_student_model(student, x)
                self._init_recorders(student, 'student')
                dry_forward(student, self.student_recorders, x, 'student',
                            self._dry_run_origin)
                self._check_records()
                self._check_losses()
        finally:
            for m, mode in modes:
                m.train(mode)
            for manager in (self.student_recorders, self.teacher_recorders):
                for recorder in manager.recorders.values():
                    recorder.reset_data_buffer()

    def _prepare_student_model(self, student, x):
        """Hook: settle the student's own widths before its recorders are set up
        (``x`` is the dry-run input, None without a dry run; teacher records are
        available). :class:`NCKDDistiller` infers its bank and NC3 heads here."""

    def _check_records(self):
        """Hook: checks of the recorded features before the losses are walked."""

    def measure_input(self, model, module, name, x, side='student'):
        """The first positional input of ``module`` (submodule ``name`` of ``model``)
        in a dry forward of ``model`` on ``x`` (:func:`.dry_run.measure_input`)."""
        return measure_input(model, module, name, x, side, self._dry_run_origin)

    def describe_record(self, record):
        """``student recorder "feat" (model.architecture.neck, data_idx 0)``."""
        side = 'student' if record.get('from_student') else 'teacher'
        manager = getattr(self, f'{side}_recorders')
        name = record.get('recorder')
        source = getattr(manager.recorders.get(name), 'source', '?')
        extra = ''.join(f', {k} {record[k]}' for k in ('record_idx', 'data_idx')
                        if record.get(k) is not None)
        return f'{side} recorder "{name}" ({MODEL_KEYS[side]}.{source}{extra})'

    def record_value(self, record, key):
        """The recorded data of a mapping entry (before its connector), or MISSING
        when the dry run (``mode='tensor'``) does not reach the recorded module."""
        side = 'student' if record.get('from_student') else 'teacher'
        recorder = getattr(self, f'{side}_recorders').get_recorder(record['recorder'])
        idx = record.get('record_idx', 0)
        if len(recorder.data_buffer) <= idx:
            return MISSING
        try:
            return recorder.get_record_data(idx, record.get('data_idx'))
        except (AssertionError, TypeError, IndexError) as err:
            raise WidthError(f'{key}.data_idx: {record.get("data_idx")!r} does not '
                             f'select from {self.describe_record(record)}, whose record '
                             f'is {shape_of(recorder.data_buffer[idx])}: {err}') from None

    def default_target_width(self, loss_name, arg):
        """Hook: output width for a connector of a loss input with no other feature to
        match (``(width, description)``; NCKDDistiller: the prototype bank's)."""
        return None, (f'{KEY}.distill_losses.{loss_name} has no other feature input '
                      f'than {arg}')

    def _check_losses(self):
        for loss_name, mapping in self.loss_forward_mappings.items():
            loss_key = f'{KEY}.distill_losses.{loss_name}'
            values = {}

            def target(arg, record):
                side = record.get('from_student')
                others = [(a, v) for a, v in values.items()
                          if v[0] is not MISSING and feature_width(v[0]) is not None
                          and torch.is_floating_point(v[0])]
                pick = [o for o in others if mapping[o[0]].get('from_student') != side]
                for a, (v, d) in pick or others:
                    return feature_width(v), f'{a} of {loss_key}: {d}'
                return self.default_target_width(loss_name, arg)

            def needs_target(arg):
                conn = mapping[arg].get('connector')
                return conn in self._pending and has_omitted(self._pending[conn], True)

            for arg in sorted(mapping, key=needs_target):
                record = mapping[arg]
                if not isinstance(record, dict) or 'recorder' not in record:
                    continue
                rkey = f'{KEY}.loss_forward_mappings.{loss_name}.{arg}'
                value = self.record_value(record, rkey)
                desc = self.describe_record(record)
                conn = record.get('connector')
                if value is MISSING:
                    if conn in self._pending:
                        raise WidthError(
                            f'{KEY}.connectors.{conn}: its widths cannot be inferred: '
                            f'the dry run (mode="tensor") does not reach {desc}; give '
                            'them')
                    values[arg] = (MISSING, desc)
                    continue
                if conn:
                    value, desc = self.apply_connector(
                        conn, value, desc, lambda a=arg, r=record: target(a, r))
                if record.get('connector_idx') is not None:
                    value = value[record['connector_idx']]
                values[arg] = (value, desc)
            if any(v is MISSING for v, _ in values.values()):
                self.check_partial_loss(loss_name, values)
                continue
            loss = self.distill_losses[loss_name]
            try:
                loss(**{a: v for a, (v, _) in values.items()})
            except Exception as err:
                raise self._loss_error(loss_key, loss, values, err) from err
        if self._pending:
            raise WidthError(
                f'{self._pending_keys()}: widths omitted, but no entry of '
                f'{KEY}.loss_forward_mappings uses these connectors, so they cannot be '
                'inferred; give them')

    def check_partial_loss(self, loss_name, values):
        """Hook: checks of a loss some of whose inputs the dry run cannot record
        (e.g. labels from ``head.loss_module`` in ``mode='tensor'``)."""

    def _loss_error(self, loss_key, loss, values, err):
        tensors = [
            v for v, _ in values.values()
            if isinstance(v, torch.Tensor) and torch.is_floating_point(v)
        ]
        differ = len({tuple(t.shape) for t in tensors}) > 1
        what = ('gets tensors of different shapes'
                if differ else 'fails on the dry-run features')
        inputs = '; '.join(f'{a} {shape_of(v)} = {d}' for a, (v, d) in values.items())
        return WidthError(
            f'{loss_key} ({type(loss).__name__}) {what}: {inputs}. Change the widths '
            'that produce them (the connectors / recorders named above; omitted '
            f'connector widths are inferred). ({type(err).__name__}: {err})')
