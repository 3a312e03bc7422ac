"""Recorder sources named in errors: a mixin for MMRazor's ``ConfigurableDistiller``.

A recorder whose ``source`` is not in the model makes MMRazor 1.0.0 fail with a bare
``AssertionError('"x" is not in the model.')``. Distillers that mix in
:class:`RecorderSourceCheckMixin` (:class:`StrictConfigurableDistiller`,
:class:`VKDDistiller`, :class:`NCKDDistiller`) raise :class:`RecorderSourceError`
instead, naming the config key ``distiller.student_recorders.<name>.source`` (or
``teacher_recorders``) and listing module names of the model.
"""
import re

__all__ = ['RecorderSourceError', 'RecorderSourceCheckMixin', 'module_names']


def module_names(model, max_depth: int = 2):
    """Names of the model's modules up to ``max_depth`` levels (for error messages)."""
    return [n for n, _ in model.named_modules() if n and n.count('.') < max_depth]


class RecorderSourceError(ValueError):
    """A distiller recorder's ``source`` is not a module / parameter of the model."""


class RecorderSourceCheckMixin:
    """Put before ``ConfigurableDistiller`` in the bases of a distiller."""

    def _prepare_recorders(self, prepare, model, side):
        try:
            return prepare(model)
        except AssertionError as err:
            found = re.search(r'"(.*)" is not in the model', str(err))
            if found is None:
                raise
            source = found.group(1)
            recorders = getattr(self, f'{side}_recorders').recorders
            keys = [
                k for k, r in recorders.items() if getattr(r, 'source', None) == source
            ] or ['?']
            raise RecorderSourceError(
                f'distiller.{side}_recorders.{keys[0]}.source: "{source}" is not a '
                f'module of the {side} model; expected a name such as '
                f'{module_names(model)[:16]}') from None

    def prepare_from_student(self, model):
        return self._prepare_recorders(super().prepare_from_student, model, 'student')

    def prepare_from_teacher(self, model):
        return self._prepare_recorders(super().prepare_from_teacher, model, 'teacher')
