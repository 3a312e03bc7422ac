"""Mixed precision that also runs on CPU.

MMEngine's ``AmpOptimWrapper`` refuses to start without a GPU/NPU/MLU. ``tools/train.py
--amp`` on a machine without CUDA uses :class:`AutocastOptimWrapper` instead: forward
passes run under ``torch.autocast(device_type, dtype=bfloat16)`` (the only low-precision
dtype CPU autocast supports). bfloat16 has float32's exponent range, so no loss scaling
is needed and the backward / step are the plain ``OptimWrapper`` ones.
"""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` enables ``torch.autocast``.

    Args:
        dtype (str | torch.dtype): autocast dtype, ``'bfloat16'`` (default) or
            ``'float16'`` (CUDA only).
        **kwargs: as :class:`mmengine.optim.OptimWrapper`.
    """

    def __init__(self, dtype='bfloat16', **kwargs):
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            if dtype not in ('bfloat16', 'float16'):
                raise ValueError("optim_wrapper.dtype must be 'bfloat16' or "
                                 f"'float16', got {dtype!r}")
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model):
        param = next(model.parameters(), None)
        device_type = param.device.type if param is not None else 'cpu'
        if device_type == 'cpu' and self.cast_dtype != torch.bfloat16:
            raise ValueError('CPU autocast supports only optim_wrapper.dtype='
                             "'bfloat16'")
        with super().optim_context(model), torch.autocast(
                device_type=device_type, dtype=self.cast_dtype):
            yield
