
from .strict_teacher_distill import StrictTeacherDistill  # noqa: F401
from .vkd_distiller import VKDDistiller  # noqa: F401
