"""Feature layouts shared by the VKD connectors.

(N, C) vectors and (N, L, C) tokens carry channels last; (N, C, H, W) maps carry
channels at dim 1. :func:`to_channels_last` moves channels last (a view) and returns the
inverse move, so per-channel maths is one matmul over the last dim for every layout.
"""

__all__ = ['to_channels_last', 'check_channels']


def _identity(x):
    return x


def _to_channels_first(x):
    return x.movedim(-1, 1)


def to_channels_last(x, owner='connector'):
    """(x channels-last, inverse): (N, C) / (N, L, C) unchanged, (N, C, H, W) moved."""
    if x.dim() in (2, 3):
        return x, _identity
    if x.dim() == 4:
        return x.movedim(1, -1), _to_channels_first
    raise ValueError(f'{owner}: expected a feature of shape (N, C), (N, L, C) or '
                     f'(N, C, H, W), got shape {tuple(x.shape)}')


def check_channels(x, expected, owner, key='in_channels'):
    """Raise ValueError naming ``key`` when x's channel count differs from it."""
    c = x.shape[1] if x.dim() == 4 else x.shape[-1]
    if c != expected:
        raise ValueError(
            f'{owner}: `{key}`={expected} but the input feature has {c} channels '
            f'(shape {tuple(x.shape)}; channels are dim 1 for (N, C, H, W) maps and '
            f'the last dim for (N, C) / (N, L, C)). Set `{key}` to {c} or connect '
            'another feature.')
