"""The build-time dry run of :class:`~.StrictConfigurableDistiller`: forwards of the
student / teacher on one fixed input, with errors that name the model's config key."""
import torch
from mmengine.model import BaseModel

from .widths import KEY, MODEL_KEYS, WidthError

__all__ = ['dry_input', 'call_tensor', 'dry_forward', 'measure_input']


class _StopForward(Exception):
    """Raised by a forward pre-hook to end a measuring forward early."""


def dry_input(shape, model):
    """A fixed (N, C, H, W) input of ``shape`` from its own generator (the global RNG
    is not touched), on the device of ``model``'s parameters."""
    device = next((p.device for p in model.parameters()), torch.device('cpu'))
    gen = torch.Generator().manual_seed(0)
    return torch.randn(shape, generator=gen).to(device)


def call_tensor(model, x):
    """``model(x)``; MMEngine models in ``mode='tensor'`` (no data samples)."""
    if isinstance(model, BaseModel):
        return model(x, None, mode='tensor')
    return model(x)


def _failure(side, where, origin, err):
    return WidthError(
        f'{KEY}: the build-time dry run of the {side} ({MODEL_KEYS[side]}) fails'
        f'{where} on an input of shape {origin}: {type(err).__name__}: {err}')


def dry_forward(model, recorders, x, side, origin):
    """One forward of ``model`` on ``x`` with ``recorders`` on.

    Raises:
        WidthError: the forward fails; names ``dry_run_shape`` (``origin``: the shape
        and where it came from) and how to change or skip it.
    """
    try:
        with recorders:
            call_tensor(model, x)
    except Exception as err:
        failure = _failure(side, '', origin, err)
        raise WidthError(
            f'{failure}. If the input does not suit the models, set '
            f'{KEY}.dry_run_shape; {KEY}.dry_run_shape=False skips the dry run (every '
            'width must then be given).') from err


def measure_input(model, module, name, x, side, origin):
    """The first positional input of ``module`` (the submodule ``name`` of ``model``)
    in a forward of ``model`` on ``x``; the forward stops there."""
    seen = {}

    def hook(_, args):
        seen['x'] = args[0] if args else None
        raise _StopForward

    handle = module.register_forward_pre_hook(hook)
    try:
        call_tensor(model, x)
    except _StopForward:
        pass
    except Exception as err:
        raise _failure(side, f' before {MODEL_KEYS[side]}.{name}', origin, err) from err
    finally:
        handle.remove()
    if 'x' not in seen:
        raise WidthError(f'{KEY}: the dry run of the {side} never reaches '
                         f'{MODEL_KEYS[side]}.{name}')
    return seen['x']
