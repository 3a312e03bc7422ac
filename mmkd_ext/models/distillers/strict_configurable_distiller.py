"""MMRazor's ``ConfigurableDistiller`` with recorder sources named in errors."""
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS

from .recorder_check import RecorderSourceCheckMixin


@MODELS.register_module()
class StrictConfigurableDistiller(RecorderSourceCheckMixin, ConfigurableDistiller):
    """``ConfigurableDistiller`` (same arguments) whose recorders fail with a
    :class:`~.recorder_check.RecorderSourceError` naming
    ``distiller.{student,teacher}_recorders.<name>.source`` when their ``source`` is
    not in the model (MMRazor raises a bare ``AssertionError``). Used by the logit-KD
    configs."""
