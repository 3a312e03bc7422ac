"""Save and restore the random number generators with every checkpoint.

MMEngine's resume restores model, optimizer, scheduler and the sampler's epoch, but
re-seeds the RNGs from scratch, so random augmentation, DiffAugment, GAN noise and
dropout after a resume differ from the uninterrupted run. This hook stores the states
of Python's ``random``, NumPy's global RNG and torch (CPU, and every CUDA device) in
``checkpoint['rng_state']`` and puts them back when the checkpoint is resumed, making a
resumed run repeat the uninterrupted one exactly (with ``num_workers=0`` or
deterministic workers). Everything is stored as plain ints / strings / arrays / tensors,
so ``weights_only=True`` loading keeps working.

Paired seeds (``paired_streams=True``, the default): the runner seeds the RNGs once,
before it builds the model, so whatever a distiller builds besides the student (a
teacher, connectors, a prototype bank) shifts the random streams that initialise and
then train the student: the same ``randomness.seed`` gave a student alone and a KD
student different initial weights and augmentation. This hook therefore re-seeds
(Python, NumPy, torch) from ``runner.seed`` twice: in ``before_run``, right before
``init_weights`` (the student, built and initialised first by MMRazor's algorithms, so
gets the same initial weights as when trained alone), and in ``before_train`` when not
resuming (augmentation, dropout, GAN noise start from the same state for every method;
the data order already follows ``runner.seed`` through the sampler). The two streams
use different seeds derived from ``runner.seed`` (``numpy.random.SeedSequence``).
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook

from mmkd_ext.registry import HOOKS


def get_rng_state():
    """The states of Python's, NumPy's and torch's global RNGs as plain objects."""
    np_state = np.random.get_state()
    state = dict(
        python=[int(v) for v in random.getstate()[1]],
        python_version=random.getstate()[0],
        python_gauss=random.getstate()[2],
        numpy=dict(
            key=np_state[1],
            pos=int(np_state[2]),
            has_gauss=int(np_state[3]),
            gauss=float(np_state[4])),
        torch=torch.get_rng_state(),
    )
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def derived_seed(seed: int, stream: int) -> int:
    """A 31-bit seed for ``stream`` (0: weight init, 1: training) of ``seed``."""
    return int(
        np.random.SeedSequence([int(seed) % 2**63, stream]).generate_state(1)[0] % 2**31)


def seed_all(seed: int):
    """Seed Python's ``random``, NumPy's global RNG and torch (every device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def set_rng_state(state):
    """Inverse of :func:`get_rng_state`."""
    random.setstate(
        (state['python_version'], tuple(state['python']), state['python_gauss']))
    npst = state['numpy']
    np.random.set_state(('MT19937', np.asarray(npst['key'], dtype=np.uint32), npst['pos'],
                         npst['has_gauss'], npst['gauss']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Keep RNG states in checkpoints (``default_hooks.rng_state`` in the runtime
    base) so that ``--resume`` reproduces the uninterrupted run, and re-seed before
    weight init and before training so that runs with the same seed are paired.

    Args:
        paired_streams (bool): re-seed from ``runner.seed`` in ``before_run`` and (when
            not resuming) ``before_train``. Defaults to True.
    """
    priority = 'VERY_LOW'

    def __init__(self, paired_streams: bool = True):
        self.paired_streams = paired_streams

    def before_run(self, runner):
        # called right before runner._init_model_weights()
        if self.paired_streams and runner.seed is not None:
            seed_all(derived_seed(runner.seed, 0))

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint['rng_state'] = get_rng_state()

    # Validation must not consume the training stream: an uninterrupted run
    # validates between saving a checkpoint and the next epoch, a resumed run
    # does not.
    def before_val(self, runner):
        self._before_val_state = get_rng_state()

    def after_val(self, runner):
        state = getattr(self, '_before_val_state', None)
        if state is not None:
            set_rng_state(state)
            self._before_val_state = None

    def after_load_checkpoint(self, runner, checkpoint):
        if runner._resume and 'rng_state' in checkpoint:
            self._pending = checkpoint['rng_state']

    def before_train(self, runner):
        # The runner re-seeds after loading the checkpoint in some code paths;
        # restore last, right before the first resumed iteration.
        pending = getattr(self, '_pending', None)
        if pending is not None:
            set_rng_state(pending)
            self._pending = None
        elif self.paired_streams and runner.seed is not None:
            seed_all(derived_seed(runner.seed, 1))
