"""Exponential moving average of a generator with a start iteration (BigGAN style).

``ema_update_(ema, model, decay, copy)``: for every floating-point entry of the state
dicts (parameters *and* buffers: BN running statistics, spectral-norm ``u``/``v``)
``e <- p`` when ``copy`` else ``e <- decay * e + (1 - decay) * p`` (one fused
``torch._foreach_lerp_`` call); integer buffers (``num_batches_tracked``) are copied.
gan.md: decay 0.9999, plain copies before iteration 1000.
"""
import torch


@torch.no_grad()
def ema_update_(ema: torch.nn.Module,
                model: torch.nn.Module,
                decay: float,
                copy: bool = False) -> None:
    """In-place EMA (or copy) of ``model``'s state into ``ema`` (same architecture)."""
    if not 0.0 <= decay <= 1.0:
        raise ValueError(f'ema_decay must be in [0, 1], got {decay!r}')
    src = model.state_dict()
    dst = ema.state_dict()
    if src.keys() != dst.keys():
        raise KeyError('generator_ema and generator have different state keys: '
                       f'{sorted(set(src) ^ set(dst))[:5]}')
    float_dst, float_src = [], []
    for key, value in src.items():
        target = dst[key]
        if copy or not value.is_floating_point():
            target.copy_(value)
        else:
            float_dst.append(target)
            float_src.append(value)
    if float_dst:
        torch._foreach_lerp_(float_dst, float_src, 1.0 - decay)
