"""Patches of the pinned OpenMMLab stack on a current torch, and nothing else.

Pinned: torch 2.14, mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0, mmpretrain 1.2.0,
mmrazor 1.0.0. ``import mmkd_ext`` calls :func:`apply` before anything imports MMRazor.
Each patch names the upstream issue or version that makes it necessary; drop it when
the pin moves past that.

1. MMRazor 1.0.0 on torch >= 2 (:func:`patch_torch_ao_for_mmrazor`;
   open-mmlab/mmrazor#632, open). ``mmrazor.models`` and ``mmrazor.engine`` import
   MMRazor's quantization package, which imports ``torch.ao`` names that torch made
   private or removed: ``reverse2``, ``reverse3`` and ``reverse_sequential_wrapper2`` of
   ``torch.ao.quantization.fuser_method_mappings``, the ``backend_config.utils``
   submodule used without import, and three private ``BackendPatternConfig`` setters.
   We provide exactly these names (only when missing). Knowledge distillation never
   runs the quantization code, so they only need to exist with the old meaning.

2. MMEngine 0.10.7 checkpoints on torch >= 2.6 (:func:`allow_mmengine_checkpoint_types`,
   :func:`patch_mmengine_local_loader`; torch 2.6 release notes: ``torch.load``
   defaults to ``weights_only=True``; open-mmlab/mmengine#1655, and #1650 which would
   set ``weights_only=False``). MMEngine checkpoints carry the message hub
   (``HistoryBuffer``) and numpy arrays / scalars / dtypes, so ``--resume`` and
   ``load_from`` fail. We keep ``weights_only=True`` and allowlist exactly those types
   with ``torch.serialization.add_safe_globals``. A pickled ``HistoryBuffer`` also
   calls ``getattr(HistoryBuffer, 'mean')`` (and min / max / current): instead of the
   real ``getattr`` the name ``builtins.getattr`` is served by a stand-in that allows
   exactly those lookups and refuses every other. MMEngine's local-file loader is
   re-registered so that every checkpoint it reads (resume, load_from, init_cfg
   ``Pretrained``, teacher checkpoints) goes through
   :func:`mmkd_ext.models.utils.checkpoint.safe_torch_load`, the loader of mmkd_ext.

3. MMEngine 0.10.7 distributed launch without CUDA
   (:func:`patch_mmengine_cpu_distributed`, :func:`adapt_cfg_for_cpu_distributed`).
   ``mmengine/dist/utils.py::_init_dist_pytorch`` calls ``torch.cuda.set_device``
   unconditionally and ``Runner.wrap_model`` wraps with ``device_ids=[LOCAL_RANK]``
   (open-mmlab/mmengine#973); both fail without CUDA. Without CUDA we initialise the
   process group with gloo (``nccl`` needs GPUs) and wrap with ``device_ids=None``, so
   ``tools/dist_train.sh`` runs on CPU machines (and in the tests).

Errors about our own configs and files are not patches and live in the modules they
concern (:mod:`mmkd_ext.models.utils.checkpoint`,
:mod:`mmkd_ext.models.distillers.recorder_check`, :mod:`mmkd_ext.datasets.non_empty`).
"""
import pickle

import numpy as np
import torch

__all__ = [
    'apply', 'patch_torch_ao_for_mmrazor', 'allow_mmengine_checkpoint_types',
    'patch_mmengine_local_loader', 'patch_mmengine_cpu_distributed',
    'adapt_cfg_for_cpu_distributed', 'MMENGINE_CHECKPOINT_SAFE_GLOBALS'
]

_APPLIED = False


def _reverse2(f):
    """Old ``torch.ao`` helper: call ``f(is_qat, y, x)`` for a pattern ``(x, y)``."""

    def reversed_fn(is_qat, x, y):
        return f(is_qat, y, x)

    return reversed_fn


def _reverse3(f):
    """Old ``torch.ao`` helper for three-element patterns ``(x, (y, z))``."""

    def reversed_fn(is_qat, x, w):
        y, z = w
        return f(is_qat, z, y, x)

    return reversed_fn


def _reverse_sequential_wrapper2(sequential):
    """Old ``torch.ao`` helper: fuse ``(x, y)`` as ``sequential(y, x)``."""

    def fuser_method(is_qat, x, y):
        return sequential(y, x)

    return fuser_method


def patch_torch_ao_for_mmrazor():
    """Provide the ``torch.ao`` names MMRazor 1.0.0 imports (no-op where present)."""
    import torch.ao.quantization.backend_config as backend_config
    import torch.ao.quantization.backend_config.utils  # noqa: F401 (used as attribute)
    import torch.ao.quantization.fuser_method_mappings as fmm

    for name, fallback in (('reverse2', _reverse2), ('reverse3', _reverse3),
                           ('reverse_sequential_wrapper2', _reverse_sequential_wrapper2)):
        if not hasattr(fmm, name):
            setattr(fmm, name, getattr(fmm, '_' + name, fallback))

    cfg_cls = backend_config.BackendPatternConfig

    def _setter(attr):

        def set_value(self, value):
            setattr(self, attr, value)
            return self

        return set_value

    for method, attr in (
        ('_set_overwrite_output_fake_quantize', '_overwrite_output_fake_quantize'),
        ('_set_overwrite_output_observer', '_overwrite_output_observer'),
        ('_set_input_output_observed', '_input_output_observed'),
    ):
        if not hasattr(cfg_cls, method):
            setattr(cfg_cls, method, _setter(attr))


def _numpy_safe_globals():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [
        type(np.dtype(t))
        for t in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
                  np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_)
    ]
    return [_reconstruct, scalar, np.ndarray, np.dtype] + dtype_classes


def _history_buffer_getattr(obj, name):
    """Stand-in for ``builtins.getattr`` while unpickling a checkpoint.

    A pickled ``HistoryBuffer`` stores its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. Allowing the real ``getattr`` would let a file
    reach any attribute of any allowlisted object, so only that exact use is served.
    """
    from mmengine.logging import HistoryBuffer
    methods = ('min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and isinstance(name, str) and name in methods:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}); only the statistics '
        'methods of mmengine HistoryBuffer are allowed')


def _mmengine_safe_globals():
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_getattr, 'builtins.getattr'), bytes]


#: Filled by :func:`allow_mmengine_checkpoint_types`: every non-tensor type an
#: MMEngine 0.10.7 checkpoint contains (message hub buffers, numpy arrays, scalars
#: and dtypes). Nothing else is allowlisted.
MMENGINE_CHECKPOINT_SAFE_GLOBALS = []


def allow_mmengine_checkpoint_types():
    """Allowlist the types MMEngine writes into checkpoints for ``weights_only``."""
    if not MMENGINE_CHECKPOINT_SAFE_GLOBALS:
        MMENGINE_CHECKPOINT_SAFE_GLOBALS.extend(_numpy_safe_globals() +
                                                _mmengine_safe_globals())
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_SAFE_GLOBALS)


def patch_mmengine_local_loader():
    """Route MMEngine's local checkpoint loading through
    :func:`mmkd_ext.models.utils.checkpoint.safe_torch_load` (weights only)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    def load_from_local(filename, map_location):
        # imported when a file is read: mmkd_ext.models imports MMRazor, which needs
        # patch 1 first
        from mmkd_ext.models.utils.checkpoint import safe_torch_load
        return safe_torch_load(filename, map_location, key_hint='checkpoint')

    CheckpointLoader.register_scheme(prefixes='', force=True)(load_from_local)


def patch_mmengine_cpu_distributed():
    """Let MMEngine's pytorch launcher initialise gloo without CUDA."""
    import mmengine.dist.utils as dist_utils
    if getattr(dist_utils._init_dist_pytorch, '_mmkd_cpu_aware', False):
        return
    original = dist_utils._init_dist_pytorch

    def _init_dist_pytorch(backend, init_backend='torch', **kwargs):
        if torch.cuda.is_available() or init_backend != 'torch':
            return original(backend, init_backend=init_backend, **kwargs)
        import torch.distributed as torch_dist
        torch_dist.init_process_group(
            backend='gloo' if backend == 'nccl' else backend, **kwargs)

    _init_dist_pytorch._mmkd_cpu_aware = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch


def adapt_cfg_for_cpu_distributed(cfg):
    """For a distributed launch without CUDA: gloo backend and a DDP wrapper
    without ``device_ids`` (called by ``tools/train.py`` / ``tools/test.py``)."""
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return cfg
    env = cfg.setdefault('env_cfg', {})
    dist_cfg = env.setdefault('dist_cfg', {})
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    return cfg


def apply():
    """Apply every workaround once (called by ``import mmkd_ext``)."""
    global _APPLIED
    if _APPLIED:
        return
    patch_torch_ao_for_mmrazor()
    allow_mmengine_checkpoint_types()
    patch_mmengine_local_loader()
    patch_mmengine_cpu_distributed()
    _APPLIED = True
