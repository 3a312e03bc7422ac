"""Optimizer-wrapper constructor for models trained with several optimizers (GANs).

MMEngine 0.10.7 has no multi-optimizer constructor. Config::

    optim_wrapper = dict(
        constructor='GANOptimWrapperConstructor',
        generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))),
        discriminator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.0, 0.999))))

builds an ``OptimWrapperDict`` with one wrapper per key. The parameters of key ``k`` are
those of ``model.optim_param_modules()[k]`` (a list of modules) when the model defines
it (e.g. D plus its distillation connector), else of ``model.k``. Frozen parameters
(``requires_grad=False``, e.g. a teacher) are skipped.
"""
import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GANOptimWrapperConstructor:
    """Build ``OptimWrapperDict(key=wrapper, ...)`` from per-key wrapper configs."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError('optim_wrapper must map names (generator, '
                            f'discriminator, ...) to wrapper configs, got '
                            f'{optim_wrapper_cfg!r}')
        for key, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise ValueError(f'optim_wrapper.{key} must be a dict with an '
                                 f'"optimizer" config, got {cfg!r}')
        self.optim_wrapper_cfg = optim_wrapper_cfg
        self.paramwise_cfg = paramwise_cfg or {}

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        groups = model.optim_param_modules() if hasattr(model,
                                                        'optim_param_modules') else {}
        wrappers = {}
        for key, cfg in self.optim_wrapper_cfg.items():
            if key in groups:
                module = nn.ModuleList(groups[key])
            elif isinstance(getattr(model, key, None), nn.Module):
                module = getattr(model, key)
            else:
                raise KeyError(f'optim_wrapper.{key}: the model has no submodule '
                               f'or parameter group "{key}"')
            cfg = dict(cfg)
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[key] = DefaultOptimWrapperConstructor(cfg,
                                                           self.paramwise_cfg.get(key))(
                                                               module)
        return OptimWrapperDict(**wrappers)
