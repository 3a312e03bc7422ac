from .connector_widths import PendingConnector  # noqa: F401
from .nckd_distiller import NCKDDistiller  # noqa: F401
from .recorder_check import RecorderSourceCheckMixin, RecorderSourceError  # noqa: F401
from .strict_configurable_distiller import StrictConfigurableDistiller  # noqa: F401
from .strict_teacher_distill import StrictTeacherDistill  # noqa: F401
from .student_cfg import student_cfg_with_widths  # noqa: F401
from .vkd_distiller import VKDDistiller  # noqa: F401
from .widths import WidthError, default_dry_run_shape  # noqa: F401
