"""Exponential moving average of a generator with a start iteration (BigGAN style).

``ema_update_(ema, model, decay, copy)``: for every floating-point entry of the state
dicts (parameters *and* buffers: BN running statistics, spectral-norm ``u``/``v``)
``e <- p`` when ``copy`` else ``e <- decay * e + (1 - decay) * p`` (one fused
``torch._foreach_lerp_`` call); integer buffers (``num_batches_tracked``) are copied.
gan.md: decay 0.9999, plain copies before iteration 1000.

Spectral norm: the EMA generator is used in eval mode, where
``torch.nn.utils.spectral_norm`` divides by ``u^T W v`` with the stored vectors and runs
no power iteration. An average of unit vectors is shorter than a unit vector and lags
when the raw layer's top singular direction turns, so the stored sigma of an averaged
layer can fall far below the averaged weight's true one (to 1/16 in one digits run:
that layer's output grew 16-fold and the EMA samples collapsed while the trained
generator did not; docs/gan.md, "what happened on seed 9"). After every update the
``u, v`` of each spectral-normed EMA layer are therefore re-estimated from the EMA
weight by power iterations started from the averaged ``u`` (:func:`sync_spectral_norm_`),
as DiffAugment's BigGAN runs a power iteration at every forward, in eval too.
"""
import torch
from torch.nn.utils.spectral_norm import SpectralNorm


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
    if not copy:  # a copy keeps the raw model's vectors, which fit the copied weight
        sync_spectral_norm_(ema)


@torch.no_grad()
def sync_spectral_norm_(module: torch.nn.Module, n_iter: int = 10) -> None:
    """Re-estimate the stored ``u, v`` of every ``torch.nn.utils.spectral_norm`` layer
    of ``module`` for its current weight: ``n_iter`` power iterations from the stored
    ``u`` (normalised), so that eval-mode ``u^T W v`` is the weight's top singular
    value. Weight (out, ...) viewed as a matrix (out, in) as the hook does."""
    for m in module.modules():
        for hook in m._forward_pre_hooks.values():
            if not isinstance(hook, SpectralNorm):
                continue
            w = hook.reshape_weight_to_matrix(getattr(m, hook.name + '_orig'))
            u = getattr(m, hook.name + '_u')
            v = getattr(m, hook.name + '_v')
            un = torch.nn.functional.normalize(u, dim=0, eps=hook.eps)
            for _ in range(n_iter):
                vn = torch.nn.functional.normalize(w.t() @ un, dim=0, eps=hook.eps)
                un = torch.nn.functional.normalize(w @ vn, dim=0, eps=hook.eps)
            u.copy_(un)
            v.copy_(vn)
