"""The student config of a distillation config, with the widths inferred at build time
written in (for building the student alone: plain MMPretrain test, NC analysis tools)."""
import copy

import torch
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS as PRETRAIN_MODELS

from ..heads.nc3_head import NC3Head

__all__ = ['student_cfg_with_widths']


def _is_nc3_head(cfg):
    """Whether a config builds an :class:`NC3Head` (or a subclass), by its class."""
    kind = cfg.get('type')
    if isinstance(kind, str):  # a bare name or any 'scope.' prefix
        kind = PRETRAIN_MODELS.get(kind)
    return isinstance(kind, type) and issubclass(kind, NC3Head)


def _left_out(cfg):
    """Whether a config (or a sub-config) is an NC3Head with a width left out."""
    if isinstance(cfg, dict):
        if _is_nc3_head(cfg):
            proj = cfg.get('projector') or {}
            return cfg.get('in_channels') is None or (
                isinstance(proj, dict) and proj
                and None in (proj.get('in_channels'), proj.get('out_channels')))
        return any(_left_out(v) for v in cfg.values())
    if isinstance(cfg, (list, tuple)):
        return any(_left_out(v) for v in cfg)
    return False


def student_cfg_with_widths(model_cfg, part='architecture'):
    """``model_cfg[part]`` (a copy) with the widths the distiller infers filled in.

    Widths of an NC3Head (``head.in_channels``, ``head.projector.in_channels`` /
    ``out_channels``) are inferred when the distillation algorithm is built
    (:class:`~mmkd_ext.models.distillers.NCKDDistiller`); a student built alone from
    ``model.architecture`` cannot measure them. When some are left out, this builds the
    algorithm once (random teacher: ``teacher_ckpt`` is ignored; the global RNG state
    is restored afterwards) and copies the values of ``algorithm.distiller.
    inferred_widths`` whose keys start with ``model.<part>.`` into the copy.

    Args:
        model_cfg (dict): the algorithm config (``cfg.model`` of a distillation
            config).
        part (str): the sub-model, ``'architecture'`` (the student).

    Returns:
        dict: the sub-model config; unchanged (copied) when no width is left out.
    """
    sub = copy.deepcopy(model_cfg[part])
    if not _left_out(sub):
        return sub
    from mmrazor.registry import MODELS
    algo_cfg = copy.deepcopy(model_cfg)
    algo_cfg['teacher_ckpt'] = None
    with torch.random.fork_rng(), DefaultScope.overwrite_default_scope('mmrazor'):
        algorithm = MODELS.build(algo_cfg)
    prefix = f'model.{part}.'
    for key, value in algorithm.distiller.inferred_widths.items():
        if not key.startswith(prefix):
            continue
        *path, field = key[len(prefix):].split('.')
        node = sub
        for name in path:
            node = node[name]
        node[field] = value
    return sub
