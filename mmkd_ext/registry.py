"""mmkd_ext's own registries (scope ``mmkd_ext``) for components that belong to no
downstream library (the GAN models, their datasets, metrics and hooks).

Components that plug into another library are registered there instead:
connectors, losses and distillers in ``mmrazor.registry.MODELS``; classification heads
and backbones in ``mmpretrain.registry.MODELS``; detectors in ``mmdet.registry.MODELS``;
the digits classification dataset in ``mmpretrain.registry.DATASETS``.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['mmkd_ext.models'])
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['mmkd_ext.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['mmkd_ext.datasets'])
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['mmkd_ext.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['mmkd_ext.engine'])
