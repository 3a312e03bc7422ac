"""VKD distiller: MMRazor's ConfigurableDistiller from a compact list of feature pairs."""
import copy

import torch
from mmrazor.models.distillers.configurable_distiller import ConfigurableDistiller
from mmrazor.registry import MODELS

from mmkd_ext.models.connectors.normalizers import normalizer_cfg
from mmkd_ext.models.connectors.orthogonal_connector import DEFAULT_PARAMETRIZATION

from ..utils.razor_build import build_razor_module
from .recorder_check import (RecorderSourceCheckMixin, RecorderSourceError,
                             module_names)

_POOLS = {
    'gap': dict(type='GlobalAvgPoolConnector'),
    'token_mean': dict(type='TokenMeanPoolConnector'),
}
_PAIR_KEYS = {
    'student', 'teacher', 'name', 'student_pool', 'teacher_pool', 'student_channels',
    'teacher_channels', 'projector', 'parametrization', 'init', 'learnable_scale_bias',
    'normalizer', 'normalize_student', 'loss', 'loss_weight', 'student_data_idx',
    'teacher_data_idx'
}


def _recorder_cfg(source, key):
    if isinstance(source, str):
        return dict(type='ModuleOutputs', source=source)
    if isinstance(source, dict) and 'type' in source:
        return copy.deepcopy(source)
    raise TypeError(f'{key} must be a module name (str) or a recorder config dict, '
                    f'got {source!r}')


def _pool_cfg(pool, key):
    if pool is None or isinstance(pool, dict):
        return copy.deepcopy(pool)
    if pool in _POOLS:
        return dict(_POOLS[pool])
    raise ValueError(f'{key} must be None, one of {tuple(_POOLS)} or a connector '
                     f'config dict, got {pool!r}')


@MODELS.register_module()
class VKDDistiller(RecorderSourceCheckMixin, ConfigurableDistiller):
    """VKD (Miles et al., CVPR 2024): ``loss = w * d(P pool(z_s), N(pool(z_t)))`` per pair.

    Each entry of ``feature_pairs`` is a dict:

    * ``student`` / ``teacher`` (str or recorder cfg): module names whose outputs are
      recorded (``ModuleOutputs``), e.g. ``'neck'``, ``'backbone.ln1'``.
    * ``student_pool`` / ``teacher_pool``: None, ``'gap'`` ((N, C, H, W) -> (N, C);
      also unwraps tuple outputs), ``'token_mean'`` or a connector config (e.g.
      ``dict(type='TokenMeanPoolConnector', num_skip_tokens=2)``).
    * ``student_channels`` / ``teacher_channels`` (int or None): d_s / d_t after pooling.
      None: inferred by a dry forward of both models on ``torch.zeros(dry_run_shape)``
      (eval mode, no grad) when the algorithm calls ``prepare_from_teacher``, i.e. in
      ``SingleTeacherDistill.__init__``, before the optimizer is built.
    * ``projector`` (dict, optional): projector config without channels (default
      ``OrthogonalConnector`` with ``parametrization``, ``init``,
      ``learnable_scale_bias``); e.g. ``dict(type='LinearConnector')`` for ablations.
    * ``normalizer``: a name of :data:`mmkd_ext.models.connectors.NORMALIZERS`
      (``'sample'`` / ``'batch'``: FeatureStandardizer, ``'whiten'``:
      FeatureWhitener(d_t), ``'none'``), None or a connector config; applied to the teacher, and
      also to the projected student when ``normalize_student=True`` (detection).
    * ``loss`` (dict, default ``VKDLoss``), ``loss_weight`` (overrides the loss's).
    * ``student_data_idx`` / ``teacher_data_idx``: element of a tuple output.
    * ``name``: prefix of the generated keys (default ``vkd{i}``): recorders
      ``{name}_s`` / ``{name}_t``, connectors ``{name}_s_conn`` / ``{name}_t_conn``,
      loss ``loss_{name}``.

    ``pair_defaults`` (dict, optional): entries every feature pair gets unless it sets
    them itself, e.g. ``dict(normalizer='batch', loss_weight=4.0)`` for the six pairs of
    the detection config.

    The usual ``ConfigurableDistiller`` arguments (``student_recorders``,
    ``distill_losses``, ``loss_forward_mappings``, ...) are merged in, e.g. for a logit
    KD term.
    """

    def __init__(self, feature_pairs, dry_run_shape=None, pair_defaults=None,
                 student_recorders=None, teacher_recorders=None, connectors=None,
                 distill_losses=None, loss_forward_mappings=None, **kwargs):
        if not isinstance(feature_pairs, (list, tuple)) or not feature_pairs:
            raise ValueError('VKDDistiller: `feature_pairs` must be a non-empty list of '
                             f'dicts, got {feature_pairs!r}')
        pair_defaults = dict(pair_defaults or {})
        unknown = set(pair_defaults) - (_PAIR_KEYS - {'student', 'teacher', 'name'})
        if unknown:
            raise KeyError(f'VKDDistiller: `pair_defaults` has keys {sorted(unknown)} '
                           'that cannot be shared; allowed: '
                           f"{sorted(_PAIR_KEYS - {'student', 'teacher', 'name'})}")
        pairs = []
        s_rec, t_rec = dict(student_recorders or {}), dict(teacher_recorders or {})
        losses = dict(distill_losses or {})
        for i, pair in enumerate(feature_pairs):
            key = f'feature_pairs[{i}]'
            if not isinstance(pair, dict) or 'student' not in pair \
                    or 'teacher' not in pair:
                raise ValueError(f'VKDDistiller: `{key}` must be a dict with at least '
                                 f"'student' and 'teacher', got {pair!r}")
            unknown = set(pair) - _PAIR_KEYS
            if unknown:
                raise KeyError(f'VKDDistiller: `{key}` has unknown keys '
                               f'{sorted(unknown)}; allowed: {sorted(_PAIR_KEYS)}')
            p = {**pair_defaults, **pair, 'key': key}
            p['name'] = pair.get('name', f'vkd{i}')
            p['student_pool'] = _pool_cfg(p.get('student_pool'), f'{key}.student_pool')
            p['teacher_pool'] = _pool_cfg(p.get('teacher_pool'), f'{key}.teacher_pool')
            norm = p.get('normalizer', 'sample')
            try:  # validates the name; the whitener's width is filled in later
                normalizer_cfg(norm, 1, f'{key}.normalizer')
            except ValueError as err:
                raise ValueError(f'VKDDistiller: {err}') from None
            p['normalizer'] = None if norm == 'none' else norm
            n = p['name']
            for name, table in ((f'{n}_s', s_rec), (f'{n}_t', t_rec)):
                if name in table:
                    raise KeyError(f'VKDDistiller: recorder name "{name}" of `{key}` '
                                   'is already used; set a different `name`')
            s_rec[f'{n}_s'] = _recorder_cfg(p['student'], f'{key}.student')
            t_rec[f'{n}_t'] = _recorder_cfg(p['teacher'], f'{key}.teacher')
            loss = copy.deepcopy(p.get('loss', dict(type='VKDLoss')))
            if 'loss_weight' in p:
                loss['loss_weight'] = p['loss_weight']
            losses[f'loss_{n}'] = loss
            pairs.append(p)
        ready = all(p.get('student_channels') and p.get('teacher_channels')
                    for p in pairs)
        if not ready and dry_run_shape is None:
            missing = [p['key'] for p in pairs
                       if not (p.get('student_channels') and p.get('teacher_channels'))]
            raise ValueError(
                f'VKDDistiller: {missing} give no `student_channels` / '
                '`teacher_channels`; set them, or set `dry_run_shape` (e.g. '
                '(2, 3, 224, 224)) so they are inferred by a dry forward.')
        conns, maps = dict(connectors or {}), dict(loss_forward_mappings or {})
        if ready:
            for p in pairs:
                conns.update(self._pair_connectors(p))
                maps.update(self._pair_mapping(p))
        super().__init__(student_recorders=s_rec, teacher_recorders=t_rec,
                         connectors=conns, distill_losses=losses,
                         loss_forward_mappings=maps, **kwargs)
        self._pairs, self._built = pairs, ready
        #: loss name -> the config key it comes from (named in build-time errors)
        self.loss_config_keys = {
            f"loss_{p['name']}": f"model.distiller.{p['key']}"
            for p in pairs
        }
        self.dry_run_shape = dry_run_shape

    # -- building -------------------------------------------------------------------
    def _pair_connectors(self, p):
        d_s, d_t = p['student_channels'], p['teacher_channels']
        proj = copy.deepcopy(p.get('projector')) or dict(
            type='OrthogonalConnector',
            parametrization=p.get('parametrization', DEFAULT_PARAMETRIZATION),
            init=p.get('init', 'random'),
            learnable_scale_bias=p.get('learnable_scale_bias', False))
        proj.update(in_channels=d_s, out_channels=d_t)
        norm = normalizer_cfg(p['normalizer'], d_t)
        s_chain = [c for c in (p['student_pool'], proj,
                               norm if p.get('normalize_student') else None) if c]
        t_chain = [c for c in (p['teacher_pool'], norm) if c]
        conns = {f"{p['name']}_s_conn": dict(type='SequentialConnector',
                                             connectors=s_chain)}
        if t_chain:
            conns[f"{p['name']}_t_conn"] = dict(type='SequentialConnector',
                                                connectors=t_chain)
        return conns

    def _pair_mapping(self, p):
        n = p['name']
        s = dict(from_student=True, recorder=f'{n}_s', connector=f'{n}_s_conn')
        t = dict(from_student=False, recorder=f'{n}_t')
        if p['teacher_pool'] or p['normalizer']:
            t['connector'] = f'{n}_t_conn'
        for d, k in ((s, 'student_data_idx'), (t, 'teacher_data_idx')):
            if p.get(k) is not None:
                d['data_idx'] = p[k]
        return {f'loss_{n}': dict(preds_S=s, preds_T=t)}

    def _pooled(self, p, from_student):
        side = 'student' if from_student else 'teacher'
        rec = self.get_record(f"{p['name']}_{side[0]}", from_student,
                              data_idx=p.get(f'{side}_data_idx'))
        pool = p[f'{side}_pool']
        if pool is not None:
            rec = build_razor_module(pool)(rec)
        if not isinstance(rec, torch.Tensor):
            raise TypeError(
                f'VKDDistiller: `{p["key"]}.{side}` records a {type(rec).__name__}; '
                f'set `{side}_pool` or `{side}_data_idx` to select a tensor')
        return rec.shape[1] if rec.dim() == 4 else rec.shape[-1]

    @torch.no_grad()
    def infer_channels(self, student, teacher):
        """Dry forward on zeros of ``dry_run_shape``; fill in missing channels."""
        x = torch.zeros(*self.dry_run_shape,
                        device=next(iter(student.parameters())).device)
        modes = [(m, m.training) for m in (student, teacher)]
        try:
            for model, recorders in ((student, self.student_recorders),
                                     (teacher, self.teacher_recorders)):
                model.eval()
                with recorders:
                    model(x, None, mode='tensor')
            for p in self._pairs:
                for side, from_student in (('student', True), ('teacher', False)):
                    c = self._pooled(p, from_student)
                    given = p.get(f'{side}_channels')
                    if given and given != c:
                        raise ValueError(
                            f'VKDDistiller: `{p["key"]}.{side}_channels`={given} but '
                            f'"{p[side]}" gives {c} channels after pooling')
                    p[f'{side}_channels'] = c
        finally:
            for model, mode in modes:
                model.train(mode)
            for recorders in (self.student_recorders, self.teacher_recorders):
                for r in recorders.recorders.values():
                    r.reset_data_buffer()

    def _init_recorders(self, prepare, model, side):
        """Name the feature-pair key when a recorder source is missing (the generic
        error comes from :class:`.recorder_check.RecorderSourceCheckMixin`)."""
        try:
            prepare(model)
        except (RecorderSourceError, AssertionError) as err:
            names = module_names(model)[:12]
            raise ValueError(
                f'VKDDistiller: a {side} recorder source does not exist ({err}); '
                f'`feature_pairs[i].{side}` / `{side}_recorders[*].source` must name a '
                f'module of the {side} model, e.g. {names}') from None

    def prepare_from_teacher(self, model):
        self._init_recorders(super().prepare_from_teacher, model, 'teacher')
        if self._built and self.dry_run_shape is None:
            return
        if getattr(self, '_student_model', None) is None:
            raise RuntimeError('VKDDistiller: prepare_from_student must be called '
                               'before prepare_from_teacher to infer channels')
        # fills in missing channels; given channels are checked against the models
        self.infer_channels(self._student_model[0], model)
        if self._built:
            self._student_model = None
            return
        maps = {}
        for p in self._pairs:
            for name, cfg in self._pair_connectors(p).items():
                self.connectors[name] = build_razor_module(cfg)
            maps.update(self._pair_mapping(p))
        self._check_loss_forward_mappings(self.distill_losses, maps,
                                          self.student_recorders,
                                          self.teacher_recorders)
        self.loss_forward_mappings.update(maps)
        self._built = True
        self._student_model = None

    def prepare_from_student(self, model):
        self._init_recorders(super().prepare_from_student, model, 'student')
        # a list, so the student is not registered as a submodule of the distiller
        self._student_model = [model]

    def compute_distill_losses(self):
        if not self._built:
            raise RuntimeError(
                'VKDDistiller: feature channels were never inferred; the algorithm '
                'must call prepare_from_student / prepare_from_teacher (as '
                'SingleTeacherDistill does), or give `student_channels` / '
                '`teacher_channels` in every feature pair')
        return super().compute_distill_losses()

    def get_record(self, recorder, from_student, record_idx=0, data_idx=None,
                   connector=None, connector_idx=None):
        try:
            return super().get_record(recorder, from_student, record_idx, data_idx,
                                      connector, connector_idx)
        except ValueError as err:
            pair = next((p for p in self._pairs if connector and connector.startswith(
                p['name'] + '_')), None)
            if pair is None:
                raise
            raise ValueError(f'VKDDistiller `{pair["key"]}` (student "{pair["student"]}"'
                             f', teacher "{pair["teacher"]}"; check `student_channels` '
                             f'/ `teacher_channels`): {err}') from err
