"""``SingleTeacherDistill`` whose teacher checkpoint is loaded strictly, in any of the
layouts of :mod:`mmkd_ext.models.utils.classifier_ckpt`.

MMRazor's ``SingleTeacherDistill`` loads ``teacher_ckpt`` with MMEngine's non-strict
``load_checkpoint``: a file in another layout (a RepDistiller CIFAR teacher, a timm /
DeiT RegNetY-160) loads nothing and training goes on with a random teacher after a log
warning. This subclass reads the file with ``weights_only=True``, renames it to the
teacher's names and refuses any missing / unexpected key or shape mismatch with an error
naming ``model.teacher_ckpt``. Two build-time checks are added
(:mod:`.pair_check`): errors of the student / teacher constructors name their keys as
``model.architecture.<key>`` / ``model.teacher.<key>``, and the sizes student and
teacher features must share (e.g. ViDT [DET] tokens) are compared loss by loss before
the first iteration. ``teacher_input_size`` lets a teacher see the batch at the
resolution it was trained at (e.g. a CNN trained at 16 px teaching a ViT student that
needs 64 px for 16 patch tokens, docs/studies.md "DeiT"). Everything else is MMRazor's
algorithm unchanged.
"""
import torch.nn.functional as F
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import MODELS

from ..utils.checkpoint import CheckpointError
from ..utils.classifier_ckpt import load_classifier_checkpoint
from .pair_check import check_record_sizes, prefix_model_keys

#: errors whose message names config keys (``model.<key>``), rewritten to the sub-model
_CONFIG_ERRORS = (ValueError, KeyError, TypeError, CheckpointError)


@MODELS.register_module()
class StrictTeacherDistill(SingleTeacherDistill):
    """Single-teacher distillation with a strict, layout-aware teacher checkpoint.

    Args:
        teacher_ckpt (str, optional): teacher weights: an MMEngine checkpoint, a
            RepDistiller / mdistiller CIFAR file (``{'model': ...}``), a DeiT teacher
            file or a plain timm state dict. ``None`` keeps the teacher's own init
            (e.g. for smoke tests).
        teacher_input_size (tuple[int, int], optional): ``(h, w)`` the teacher's
            input (N, C, H, W) is resized to (bilinear, antialiased) before every
            teacher forward, including the build-time dry run; ``None`` (default):
            the teacher sees the student's batch as it is.
        **kwargs: as :class:`mmrazor.models.SingleTeacherDistill`.
    """

    def __init__(self,
                 architecture,
                 teacher_ckpt=None,
                 teacher_input_size=None,
                 **kwargs):
        size = _input_size(teacher_input_size)
        if isinstance(architecture, dict):
            try:
                architecture = MODELS.build(architecture)
            except _CONFIG_ERRORS as err:
                raise prefix_model_keys(err, 'architecture')
        if size is not None:
            # the teacher is built inside MMRazor's __init__; resize before its forward
            teacher = kwargs.get('teacher')
            if isinstance(teacher, dict):
                try:
                    teacher = MODELS.build(teacher)
                except _CONFIG_ERRORS as err:
                    raise prefix_model_keys(err, 'teacher')
                kwargs['teacher'] = teacher
            teacher.register_forward_pre_hook(_Resize(size))
        self.teacher_input_size = size
        try:
            super().__init__(architecture=architecture, teacher_ckpt=None, **kwargs)
        except _CONFIG_ERRORS as err:
            # MMRazor builds the distiller, then the teacher: an error after the
            # distiller exists and before the teacher does is the teacher's own
            built = getattr(self, '_modules', {})
            if 'distiller' in built and 'teacher' not in built:
                raise prefix_model_keys(err, 'teacher')
            if 'teacher' in built:
                # the distiller's build-time dry run failed: a size the two models
                # must share (e.g. ViDT [DET] tokens) names the config keys to change
                check_record_sizes(self.distiller, self.architecture, self.teacher)
            raise
        check_record_sizes(self.distiller, self.architecture, self.teacher)
        self.teacher_ckpt = teacher_ckpt
        self.teacher_ckpt_layout = None
        if teacher_ckpt:
            self.teacher_ckpt_layout = load_classifier_checkpoint(
                self.teacher, teacher_ckpt, key_hint='model.teacher_ckpt')
            self.teacher._is_init = True  # keep the weights through init_weights()


def _input_size(size):
    if size is None:
        return None
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(v, int) and v > 0 for v in size)):
        raise ValueError(f'model.teacher_input_size must be None or (h, w) with two '
                         f'positive ints, got {size!r}')
    return tuple(size)


class _Resize:
    """Forward pre-hook: resize the first argument (N, C, H, W) to ``size``."""

    def __init__(self, size):
        self.size = size

    def __call__(self, module, args):
        x = args[0]
        if x.shape[-2:] == self.size:
            return None
        x = F.interpolate(
            x, size=self.size, mode='bilinear', align_corners=False, antialias=True)
        return (x, ) + tuple(args[1:])
