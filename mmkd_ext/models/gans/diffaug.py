"""Differentiable Augmentation (DiffAugment, Zhao et al., NeurIPS 2020) as pure functions.

Every function maps ``x (N, C, H, W) -> (N, C, H, W)``, is differentiable w.r.t. ``x``
and draws per-sample random parameters from ``generator`` (a ``torch.Generator`` on
``x``'s device, or the global RNG when ``None``), so fixed seeds reproduce it.

* ``translation``: shift by integers in ``[-round(r H), round(r H)]`` (r = 1/8: +-4 px at
  32x32) per sample and axis, zero padding (pixels shifted in are 0).
* ``cutout``: zero a ``round(r H) x round(r W)`` square (r = 1/2: 16x16 at 32x32) at a
  random centre per sample (clipped at the border).
* ``color``: brightness ``+ U(-0.5, 0.5)``, saturation ``x U(0, 2)`` around the channel
  mean, contrast ``x U(0.5, 1.5)`` around the image mean.

``diff_augment(x, 'translation,cutout')`` applies the policy's ops in that order
(DiffAugment's order is color, translation, cutout whatever the string says). The
geometric ops are a random draw around a deterministic function of the drawn
parameters: :func:`translate` (given shifts) and :func:`cutout` (given centres).
"""
import torch

_ORDER = ('color', 'translation', 'cutout')


def _rand(shape, x, generator):
    return torch.rand(shape, generator=generator, device=x.device, dtype=x.dtype)


def _randint(low, high, shape, x, generator):
    return torch.randint(low, high, shape, generator=generator, device=x.device)


def rand_brightness(x, generator=None):
    return x + (_rand((x.shape[0], 1, 1, 1), x, generator) - 0.5)


def rand_saturation(x, generator=None):
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_rand((x.shape[0], 1, 1, 1), x, generator) * 2) + mean


def rand_contrast(x, generator=None):
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((x.shape[0], 1, 1, 1), x, generator) + 0.5) + mean


def rand_color(x, generator=None):
    """Brightness, saturation and contrast jitter (the ``color`` policy)."""
    return rand_contrast(
        rand_saturation(rand_brightness(x, generator), generator), generator)


def translate(x, shifts):
    """Shift image ``i`` of ``x (N, C, H, W)`` by ``shifts[i] = (dy, dx)`` pixels
    (``shifts``: (N, 2) integer tensor; positive = down / right), zero padding."""
    n, _, h, w = x.shape
    dy, dx = shifts[:, 0].view(n, 1, 1), shifts[:, 1].view(n, 1, 1)
    gy = torch.arange(h, device=x.device).view(1, h, 1) - dy  # source row
    gx = torch.arange(w, device=x.device).view(1, 1, w) - dx  # source column
    valid = (gy >= 0) & (gy < h) & (gx >= 0) & (gx < w)  # (N, H, W)
    idx = gy.clamp(0, h - 1) * w + gx.clamp(0, w - 1)  # flat source index
    flat = x.reshape(n, x.shape[1], h * w)
    out = flat.gather(2, idx.reshape(n, 1, h * w).expand(-1, x.shape[1], -1))
    return out.view_as(x) * valid.unsqueeze(1).to(x.dtype)


def rand_translation(x, ratio: float = 0.125, generator=None):
    """:func:`translate` each image by up to ``round(ratio * size)`` pixels per axis
    (uniform integers), zero padding."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sy, sy + 1, (n, 1, 1), x, generator)
    dx = _randint(-sx, sx + 1, (n, 1, 1), x, generator)
    return translate(x, torch.cat([dy.view(n, 1), dx.view(n, 1)], dim=1))


def cutout(x, centres, ratio: float = 0.5):
    """Zero a ``round(ratio*H) x round(ratio*W)`` square of image ``i`` of
    ``x (N, C, H, W)`` centred at ``centres[i] = (cy, cx)`` (``centres``: (N, 2)
    integer tensor), clipped at the border."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy, cx = centres[:, 0].view(n, 1, 1), centres[:, 1].view(n, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    y0, x0 = cy - ch // 2, cx - cw // 2
    inside = (ys >= y0) & (ys < y0 + ch) & (xs >= x0) & (xs < x0 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)


def rand_cutout(x, ratio: float = 0.5, generator=None):
    """:func:`cutout` at a uniformly random centre per image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h + (1 - ch % 2), (n, 1, 1), x, generator)
    cx = _randint(0, w + (1 - cw % 2), (n, 1, 1), x, generator)
    return cutout(x, torch.cat([cy.view(n, 1), cx.view(n, 1)], dim=1), ratio)


_FUNCS = dict(color=rand_color, translation=rand_translation, cutout=rand_cutout)


def parse_policy(policy):
    """``'translation,cutout'`` / list -> ordered tuple of op names; '' -> ()."""
    if policy is None:
        return ()
    names = policy.split(',') if isinstance(policy, str) else list(policy)
    names = [n.strip() for n in names if n and n.strip()]
    bad = [n for n in names if n not in _FUNCS]
    if bad:
        raise ValueError(f'diffaug_policy: unknown op(s) {bad}; expected a '
                         f'comma-separated subset of {list(_ORDER)}')
    return tuple(n for n in _ORDER if n in names)


def diff_augment(x, policy='translation,cutout', generator=None):
    """Apply the DiffAugment ``policy`` to ``x (N, C, H, W)`` (see module docstring)."""
    for name in parse_policy(policy):
        x = _FUNCS[name](x, generator=generator)
    return x
