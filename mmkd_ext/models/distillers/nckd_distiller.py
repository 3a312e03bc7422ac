"""NCKD distiller: a ConfigurableDistiller that owns the teacher prototype bank."""
from typing import Dict, Optional

from mmengine.logging import print_log
from mmrazor.registry import MODELS

from ..heads.nc3_head import NC3Head
from ..utils.checkpoint import read_checkpoint
from ..utils.prototype_bank import attach_bank, build_prototype_bank
from .strict_configurable_distiller import StrictConfigurableDistiller
from .widths import KEY, MISSING, MODEL_KEYS, WidthError, feature_width, shape_of

_BANK_INPUTS = ('preds_T', 'labels')


@MODELS.register_module()
class NCKDDistiller(StrictConfigurableDistiller):
    """Neural-collapse KD (our formulation, ``docs/nckd.md``) with one prototype bank.

    The distiller owns ONE :class:`~mmkd_ext.models.utils.PrototypeBank` of teacher
    class means ``mu_c^T`` (C, d_t), saved in checkpoints as ``distiller.bank.*``, and

    * hands it to every loss of ``distill_losses`` that reads a bank
      (``NC1AlignLoss``, ``NC2StructureLoss``: those configs leave ``bank`` out);
    * hands it to the student's :class:`~mmkd_ext.models.heads.NC3Head` with
      ``class_weights='prototypes'`` when the algorithm hands over the models
      (``SingleTeacherDistill.__init__``); the head keeps a copy of the prototypes in
      its ``fc.prototypes`` buffer, so the converted student checkpoint evaluates
      without the distiller;
    * updates it (``mode='online'``, training) once per step in
      :meth:`compute_distill_losses`, from the teacher features and labels named by
      ``bank_forward_mappings``, before the losses read it; the fraction of classes
      seen so far is logged as ``bank_coverage`` (not a loss: it has no gradient and
      its name has no "loss").

    Widths (on top of the connector widths of :class:`StrictConfigurableDistiller`),
    all inferred at build time by the same dry run when left out, and checked when
    given:

    * ``bank.feat_dim`` (d_t): the width of the teacher feature the bank is updated
      from (``bank_forward_mappings.preds_T``); a ``mode='file'`` bank without it
      takes the width of its file;
    * each ``NC3Head`` of the student: ``head.in_channels`` and
      ``head.projector.in_channels`` from the features that reach the head (its
      neck's, or its backbone's without a neck), ``head.projector.out_channels`` from
      ``bank.feat_dim`` (:meth:`NC3Head.resolve_widths`);
    * a connector feeding a loss that reads the bank (NC1) maps to ``bank.feat_dim``;
      such a loss's ``preds_S`` is checked against ``bank.feat_dim`` even when its
      labels are not recorded by the dry run.

    Args:
        bank (dict, optional): PrototypeBank config (``num_classes``, ``feat_dim``,
            ``mode``, ``path``, ``momentum``). ``None``: no bank (e.g. NC2 with batch
            teacher means only).
        bank_forward_mappings (dict, optional): where the update reads its inputs, as
            in ``loss_forward_mappings``: ``preds_T`` (N, d_t) teacher features and
            ``labels`` (N,), e.g. ``dict(preds_T=dict(from_student=False,
            recorder='feat', data_idx=0), labels=dict(from_student=True,
            recorder='labels', data_idx=1))``. Required for an online bank.
        **kwargs: as :class:`mmrazor.models.ConfigurableDistiller`.
    """

    def __init__(self,
                 bank: Optional[dict] = None,
                 bank_forward_mappings: Optional[Dict[str, dict]] = None,
                 distill_losses: Optional[Dict[str, dict]] = None,
                 **kwargs):
        bank_cfg, bank = self._provisional_bank(bank)
        losses = {
            name: self._hand_bank(name, cfg, bank)
            for name, cfg in (distill_losses or {}).items()
        }
        super().__init__(distill_losses=losses, **kwargs)
        self.bank = bank
        #: the bank config while its feat_dim waits for the dry run
        self._bank_cfg = bank_cfg
        self.bank_forward_mappings = self._check_bank_mappings(bank,
                                                               bank_forward_mappings)
        if bank_cfg is not None and not self.bank_forward_mappings:
            raise WidthError(
                f'{KEY}.bank.feat_dim is left out, but there is no '
                f'{KEY}.bank_forward_mappings.preds_T (the teacher feature) to infer it '
                'from; set it (the teacher feature width)')
        if bank_cfg is not None and self.dry_run_shape is False:
            raise WidthError(f'{KEY}.bank.feat_dim is left out and {KEY}.dry_run_shape '
                             'is False (no dry run): set it')

    # -- building -------------------------------------------------------------------
    @staticmethod
    def _provisional_bank(cfg):
        """``(pending config, bank)``: without ``feat_dim`` the bank is built with
        feat_dim 1 and rebuilt once the dry run has measured the teacher feature (the
        losses are built before the models exist and need the bank object)."""
        if not isinstance(cfg, dict) or cfg.get('feat_dim') is not None:
            return None, build_prototype_bank(cfg)
        cfg = dict(cfg)
        if cfg.get('mode') == 'file' and cfg.get('path'):
            protos = read_checkpoint(cfg['path'], key_hint=f'{KEY}.bank.path')
            protos = protos.get('prototypes') if isinstance(protos, dict) else protos
            if getattr(protos, 'dim', lambda: 0)() == 2:
                return None, build_prototype_bank(dict(cfg, feat_dim=protos.shape[1]))
            return None, build_prototype_bank(cfg)  # the bank names the problem
        provisional = dict(cfg, feat_dim=1, mode='online')
        provisional.pop('path', None)
        return cfg, build_prototype_bank(provisional)

    @staticmethod
    def _hand_bank(name, cfg, bank):
        """The loss config with ``bank`` set to the distiller's bank (losses whose class
        declares ``uses_prototype_bank``)."""
        if not isinstance(cfg, dict) or bank is None:
            return cfg
        loss_type = cfg.get('type')
        loss_cls = loss_type if isinstance(loss_type, type) else MODELS.get(loss_type)
        if not getattr(loss_cls, 'uses_prototype_bank', False):
            return cfg
        if cfg.get('bank') is not None:
            raise ValueError(
                f'NCKDDistiller: distill_losses.{name}.bank is set, but the distiller '
                'owns the one prototype bank (model.distiller.bank) and hands it to '
                f'{cfg["type"]}; remove distill_losses.{name}.bank')
        return dict(cfg, bank=bank)

    def _check_bank_mappings(self, bank, mappings):
        key = 'model.distiller.bank_forward_mappings'
        if bank is None:
            if mappings:
                raise ValueError(f'NCKDDistiller: {key} is set but there is no '
                                 'model.distiller.bank to update')
            return {}
        if not mappings:
            if bank.mode == 'online':
                raise ValueError(
                    f"NCKDDistiller: an online bank needs {key} = dict(preds_T=dict("
                    "from_student=False, recorder=..., data_idx=...), labels=dict("
                    "from_student=True, recorder=..., data_idx=1)): the teacher "
                    'features and labels it is updated from')
            return {}
        if not isinstance(mappings, dict) or set(mappings) != set(_BANK_INPUTS):
            raise ValueError(f'NCKDDistiller: {key} must be a dict with exactly the '
                             f'keys {_BANK_INPUTS}, got {mappings!r}')
        for arg, record in mappings.items():
            if not isinstance(record, dict) or not isinstance(
                    record.get('from_student'), bool) or 'recorder' not in record:
                raise ValueError(
                    f'NCKDDistiller: {key}.{arg} must be a dict with from_student '
                    f'(bool) and recorder, got {record!r}')
            side = 'student' if record['from_student'] else 'teacher'
            recorders = getattr(self, f'{side}_recorders').recorders
            if record['recorder'] not in recorders:
                raise ValueError(
                    f'NCKDDistiller: {key}.{arg}.recorder "{record["recorder"]}" is not '
                    f'in model.distiller.{side}_recorders ({sorted(recorders)})')
        return {arg: dict(record) for arg, record in mappings.items()}

    def _prepare_student_model(self, student, x):
        """Settle the bank's width from the teacher's dry-run record, then each
        NC3Head's widths from the student's features (one measuring forward per
        head), and hand the bank to the heads; ``x`` is None without a dry run."""
        if x is not None and self.bank is not None and self.bank_forward_mappings:
            self._settle_bank()
        for name, head in student.named_modules():
            if not isinstance(head, NC3Head):
                continue
            key = f'{MODEL_KEYS["student"]}.{name}'
            prototypes = head.class_weights == 'prototypes'
            if prototypes and self.bank is None and head._bank is None:
                raise ValueError(
                    f"NCKDDistiller: the student's {name} (NC3Head with "
                    "class_weights='prototypes') needs teacher prototypes; set "
                    'model.distiller.bank')
            target = self.bank.feat_dim if prototypes and self.bank is not None \
                else None
            if x is not None:
                d_s, source = self._head_input(student, head, name, x)
                pending = not head.widths_resolved
                try:
                    head.resolve_widths(
                        d_s,
                        target,
                        key=key,
                        source=source,
                        target_source=f'{KEY}.bank.feat_dim')
                except ValueError as err:
                    raise WidthError(str(err)) from None
                head.eval()  # the dry run goes on in eval mode (restored after)
                widths = {f'{key}.in_channels': d_s}
                if head._projector_cfg is not None:
                    widths.update({
                        f'{key}.projector.in_channels': d_s,
                        f'{key}.projector.out_channels': head.fc.dim
                    })
                self.inferred_widths.update(widths)
                if pending:
                    print_log(
                        f'{key}: ' + ', '.join(f'{k[len(key) + 1:]} = {v}'
                                               for k, v in widths.items()) +
                        f' (inferred from {source} and {KEY}.bank.feat_dim)',
                        logger='current')
            elif not head.widths_resolved:
                raise WidthError(f'{key}: widths are left out and {KEY}.dry_run_shape '
                                 'is False (no dry run): give in_channels and '
                                 'projector.out_channels')
            if not prototypes:
                continue
            if self.bank is not None:
                head.set_bank(self.bank)

    def _settle_bank(self):
        """``bank.feat_dim`` from (or checked against) the teacher feature."""
        record = self.bank_forward_mappings['preds_T']
        key = f'{KEY}.bank_forward_mappings.preds_T'
        value = self.record_value(record, key)
        desc = self.describe_record(record)
        if value is MISSING:
            if self._bank_cfg is not None:
                raise WidthError(f'{KEY}.bank.feat_dim cannot be inferred: the dry run '
                                 f'does not reach {desc}; set it')
            return
        if record.get('connector'):
            value, desc = self.apply_connector(record['connector'], value, desc)
        d_t = feature_width(value)
        if value is None or getattr(value, 'dim', lambda: 0)() != 2:
            raise WidthError(
                f'{key}: the bank is updated from (N, d_t) teacher features, but '
                f'{desc} gives {shape_of(value)}; record a pooled feature (e.g. the '
                "teacher's neck, data_idx=0)")
        if self._bank_cfg is None:
            if self.bank.feat_dim != d_t:
                raise WidthError(
                    f'{KEY}.bank.feat_dim: {self.bank.feat_dim} given, but {desc} gives '
                    f'{d_t} channels; set it to {d_t}, or leave it out (inferred)')
            return
        old, cfg = self.bank, self._bank_cfg
        self.bank = build_prototype_bank(dict(cfg, feat_dim=d_t))
        self._bank_cfg = None
        self._inferred(f'{KEY}.bank', 'feat_dim', d_t, desc)
        for name, loss in self.distill_losses.items():
            if getattr(loss, 'bank', None) is old:
                attach_bank(loss, self.bank, f'{KEY}.distill_losses.{name}')

    def _head_input(self, student, head, name, x):
        """``(d_s, description)`` of the features reaching an NC3Head."""
        feats = self.measure_input(student, head, name, x)
        h = feats[-1] if isinstance(feats, (tuple, list)) and feats else feats
        parent = name.rsplit('.', 1)[0] + '.' if '.' in name else ''
        neck = getattr(student, 'neck', None) if not parent else None
        source = (f'{MODEL_KEYS["student"]}.neck ({type(neck).__name__})'
                  if neck is not None else
                  f'{MODEL_KEYS["student"]}.backbone' if hasattr(student, 'backbone')
                  and not parent else f'the input of {MODEL_KEYS["student"]}.{name}')
        key = f'{MODEL_KEYS["student"]}.{name}'
        if not hasattr(h, 'dim') or h.dim() != 2:
            fix = (f'{MODEL_KEYS["student"]}.neck gives unpooled features; use a '
                   "pooling neck (e.g. dict(type='GlobalAveragePooling'))"
                   if neck is not None else
                   f"add a pooling neck ({MODEL_KEYS['student']}.neck=dict("
                   "type='GlobalAveragePooling')) or use a backbone whose output is "
                   'a vector')
            raise WidthError(f'{key} (NC3Head) needs (N, C) features, but {source} '
                             f'gives {shape_of(h)}: {fix}')
        return h.shape[1], source

    def default_target_width(self, loss_name, arg):
        loss = self.distill_losses[loss_name]
        if getattr(loss, 'bank', None) is not None and self.bank is not None:
            return self.bank.feat_dim, f'{KEY}.bank.feat_dim'
        return super().default_target_width(loss_name, arg)

    def check_partial_loss(self, loss_name, values):
        """A loss reading the bank whose labels the dry run cannot record: its
        ``preds_S`` must still be (N, bank.feat_dim)."""
        loss = self.distill_losses[loss_name]
        if getattr(loss, 'bank', None) is None or 'preds_S' not in values:
            return
        value, desc = values['preds_S']
        if value is MISSING:
            return
        d = loss.bank.feat_dim
        if getattr(value, 'dim', lambda: 0)() != 2 or value.shape[1] != d:
            raise WidthError(
                f'{KEY}.distill_losses.{loss_name} ({type(loss).__name__}) reads '
                f'(N, {d}) student features ({KEY}.bank.feat_dim = {d}), but preds_S is '
                f'{shape_of(value)} = {desc}; map the student feature to {d} channels '
                '(a connector whose out_channels is left out is inferred)')

    # -- training -------------------------------------------------------------------
    def update_bank(self):
        """Update the bank from this step's records; return its class coverage."""
        inputs = {
            arg: self.get_record(**record)
            for arg, record in self.bank_forward_mappings.items()
        }
        if inputs:
            return self.bank(**inputs)  # updates in training mode (online)
        return (self.bank.counts > 0).float().mean()

    def compute_distill_losses(self):
        coverage = self.update_bank() if self.bank is not None else None
        losses = super().compute_distill_losses()
        if coverage is not None:
            losses['bank_coverage'] = coverage
        return losses
