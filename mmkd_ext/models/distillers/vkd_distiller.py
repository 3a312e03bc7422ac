"""VKD distiller: MMRazor's ConfigurableDistiller from a compact list of feature pairs."""
import copy

import torch
from mmrazor.registry import MODELS

from mmkd_ext.models.connectors.normalizers import normalizer_cfg
from mmkd_ext.models.connectors.orthogonal_connector import DEFAULT_PARAMETRIZATION
from ..utils.razor_build import build_razor_module
from .recorder_check import RecorderSourceError, module_names
from .strict_configurable_distiller import StrictConfigurableDistiller
from .widths import KEY, MODEL_KEYS

_POOLS = {
    'gap': dict(type='GlobalAvgPoolConnector'),
    'token_mean': dict(type='TokenMeanPoolConnector'),
}
_TABLES = ('student_recorders', 'teacher_recorders', 'connectors', 'distill_losses',
           'loss_forward_mappings')
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
class VKDDistiller(StrictConfigurableDistiller):
    """VKD (Miles et al., CVPR 2024): ``w * d(P pool(z_s), N(pool(z_t)))`` per pair.

    Each entry of ``feature_pairs`` is a dict:

    * ``student`` / ``teacher`` (str or recorder cfg): module names whose outputs are
      recorded (``ModuleOutputs``), e.g. ``'neck'``, ``'backbone.ln1'``.
    * ``student_pool`` / ``teacher_pool``: None, ``'gap'`` ((N, C, H, W) -> (N, C);
      also unwraps tuple outputs), ``'token_mean'`` or a connector config (e.g.
      ``dict(type='TokenMeanPoolConnector', num_skip_tokens=2)``).
    * ``student_channels`` / ``teacher_channels`` (int or None): d_s / d_t after pooling.
      None (default): inferred by the build-time dry run of
      :class:`StrictConfigurableDistiller` (both models on one input of
      ``dry_run_shape``, eval mode, no grad) when the algorithm hands over the models
      (``SingleTeacherDistill.__init__``, before the optimizer is built). Given
      values are checked against the same dry run.
    * ``projector`` (dict, optional): projector config without channels (default
      ``OrthogonalConnector`` with ``parametrization``, ``init``,
      ``learnable_scale_bias``); e.g. ``dict(type='LinearConnector')`` for ablations.
    * ``normalizer``: a name of :data:`mmkd_ext.models.connectors.NORMALIZERS`
      (``'sample'`` / ``'batch'``: FeatureStandardizer, ``'whiten'``:
      FeatureWhitener(d_t), ``'none'``), None or a connector config; applied to the
      teacher, and
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

    def __init__(self, feature_pairs, dry_run_shape=None, pair_defaults=None, **kwargs):
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
        # the ConfigurableDistiller tables the pairs add to (recorders, connectors, ...)
        tables = {k: dict(kwargs.pop(k, None) or {}) for k in _TABLES}
        s_rec, t_rec = tables['student_recorders'], tables['teacher_recorders']
        losses = tables['distill_losses']
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
        missing = [
            p['key'] for p in pairs
            if not (p.get('student_channels') and p.get('teacher_channels'))
        ]
        if missing and dry_run_shape is False:
            raise ValueError(
                f'VKDDistiller: {missing} give no `student_channels` / '
                '`teacher_channels` and `dry_run_shape` is False; set them, or let '
                '`dry_run_shape` infer them by a dry forward (None: derived from the '
                'models, or e.g. (2, 3, 224, 224)).')
        for p in pairs:  # omitted channels: pending connectors, inferred at build
            tables['connectors'].update(self._pair_connectors(p))
            tables['loss_forward_mappings'].update(self._pair_mapping(p))
        super().__init__(dry_run_shape=dry_run_shape, **tables, **kwargs)
        self._pairs = pairs
        #: loss name -> the config key it comes from (named in build-time errors)
        self.loss_config_keys = {
            f"loss_{p['name']}": f"model.distiller.{p['key']}"
            for p in pairs
        }

    # -- building -------------------------------------------------------------------
    def _pair_connectors(self, p):
        d_s, d_t = p.get('student_channels'), p.get('teacher_channels')
        proj = copy.deepcopy(p.get('projector')) or dict(
            type='OrthogonalConnector',
            parametrization=p.get('parametrization', DEFAULT_PARAMETRIZATION),
            init=p.get('init', 'random'),
            learnable_scale_bias=p.get('learnable_scale_bias', False))
        proj.update(in_channels=d_s, out_channels=d_t)
        norm = normalizer_cfg(p['normalizer'], d_t)
        s_chain = [
            c for c in (p['student_pool'], proj,
                        norm if p.get('normalize_student') else None) if c
        ]
        t_chain = [c for c in (p['teacher_pool'], norm) if c]
        conns = {
            f"{p['name']}_s_conn": dict(type='SequentialConnector', connectors=s_chain)
        }
        if t_chain:
            conns[f"{p['name']}_t_conn"] = dict(
                type='SequentialConnector', connectors=t_chain)
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
        try:
            rec = self.get_record(
                f"{p['name']}_{side[0]}",
                from_student,
                data_idx=p.get(f'{side}_data_idx'))
        except (IndexError, TypeError) as err:
            raise ValueError(
                f'VKDDistiller: `{p["key"]}.{side}_data_idx`='
                f'{p.get(f"{side}_data_idx")!r} does not select an output of '
                f'"{p[side]}" ({err})') from None
        pool = p[f'{side}_pool']
        if pool is not None:
            rec = build_razor_module(pool)(rec)
        if not isinstance(rec, torch.Tensor):
            raise TypeError(
                f'VKDDistiller: `{p["key"]}.{side}` records a {type(rec).__name__}; '
                f'set `{side}_pool` or `{side}_data_idx` to select a tensor')
        return rec.shape[1] if rec.dim() == 4 else rec.shape[-1]

    def _check_records(self):
        """Given channels against the pooled dry-run records (the generic walk of
        :class:`StrictConfigurableDistiller` then infers the omitted ones)."""
        for p in self._pairs:
            for side, from_student in (('student', True), ('teacher', False)):
                c = self._pooled(p, from_student)
                given = p.get(f'{side}_channels')
                if given and given != c:
                    source = getattr(
                        getattr(self,
                                f'{side}_recorders').recorders[f"{p['name']}_{side[0]}"],
                        'source', p[side])
                    raise ValueError(
                        f'VKDDistiller: `{p["key"]}.{side}_channels`={given} but '
                        f'"{p[side]}" ({MODEL_KEYS[side]}.{source}) gives {c} channels '
                        f'after pooling; set {KEY}.{p["key"]}.{side}_channels={c} or '
                        'leave it out (inferred)')

    def _field_key(self, key, field):
        """Name a pair's channels (``feature_pairs[i].student_channels``) instead of
        the connector fields generated from them."""
        for p in self._pairs:
            n = p['name']
            if key.startswith(f'{KEY}.connectors.{n}_s_conn'):
                side = 'student' if field in ('in_channels', 'in_channel') else 'teacher'
                return f'{KEY}.{p["key"]}.{side}_channels'
            if key.startswith(f'{KEY}.connectors.{n}_t_conn'):
                return f'{KEY}.{p["key"]}.teacher_channels'
        return super()._field_key(key, field)

    def _init_recorders(self, model, side):
        """Name the feature-pair key when a recorder source is missing (the generic
        error comes from :class:`.recorder_check.RecorderSourceCheckMixin`)."""
        try:
            super()._init_recorders(model, side)
        except (RecorderSourceError, AssertionError) as err:
            names = module_names(model)[:12]
            raise ValueError(
                f'VKDDistiller: a {side} recorder source does not exist ({err}); '
                f'`feature_pairs[i].{side}` / `{side}_recorders[*].source` must name a '
                f'module of the {side} model, e.g. {names}') from None

    def get_record(self,
                   recorder,
                   from_student,
                   record_idx=0,
                   data_idx=None,
                   connector=None,
                   connector_idx=None):
        try:
            return super().get_record(recorder, from_student, record_idx, data_idx,
                                      connector, connector_idx)
        except ValueError as err:
            pair = next((p for p in self._pairs
                         if connector and connector.startswith(p['name'] + '_')), None)
            if pair is None:
                raise
            raise ValueError(f'VKDDistiller `{pair["key"]}` (student "{pair["student"]}"'
                             f', teacher "{pair["teacher"]}"; check `student_channels` '
                             f'/ `teacher_channels`): {err}') from err
