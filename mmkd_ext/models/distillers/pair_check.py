"""Build-time checks of a student / teacher pair, with the config keys in the errors.

* :func:`prefix_model_keys`: a model's own errors name keys relative to a plain config
  (``model.neck.in_channels``); inside a distillation algorithm the same model is
  ``model.architecture`` (student) or ``model.teacher``, so the keys are rewritten
  (``model.architecture.neck.in_channels``).
* :func:`check_record_sizes`: every distillation loss compares student and teacher
  features recorded at some modules. Models that know which of their sizes such a
  feature carries expose ``distill_sizes(source, data_idx) -> {label: (size, key)}``
  (e.g. :meth:`mmkd_ext.models.detectors.ViDT.distill_sizes`: [DET] tokens, decoder
  layers, feature levels). Every size the two sides of a loss input pair must share
  is compared before the first iteration; a mismatch is a ``ValueError`` such as::

      model.distiller.distill_losses.loss_vkd_det: student [DET] tokens 20 != teacher
      [DET] tokens 30 (model.architecture.num_queries vs model.teacher.num_queries)

  ``channels`` entries are compared only where no connector sits on the student side
  (a connector, e.g. VKD's projector, maps the student's width to the teacher's).
"""
import re

__all__ = ['prefix_model_keys', 'check_record_sizes']

_MODEL_KEY = re.compile(r'(?<![\w.])model\.(?!architecture\.|teacher\.|distiller\.)')


def prefix_model_keys(err, part):
    """Rewrite the ``model.<key>`` names in ``err``'s message to ``model.<part>.<key>``
    (in place; returns ``err``)."""
    if err.args and isinstance(err.args[0], str):
        err.args = (_MODEL_KEY.sub(f'model.{part}.', err.args[0]), ) + err.args[1:]
    return err


def _split(mapping):
    """Student and teacher inputs of one loss, in the mapping's order."""
    student = [v for v in mapping.values() if v.get('from_student')]
    teacher = [v for v in mapping.values() if not v.get('from_student')]
    return student, teacher


def _sizes(model, recorders, arg):
    sizes = getattr(model, 'distill_sizes', None)
    recorder = recorders.recorders.get(arg['recorder'])
    source = getattr(recorder, 'source', None)
    if sizes is None or not isinstance(source, str):
        return {}
    return sizes(source, arg.get('data_idx'))


def check_record_sizes(distiller, student, teacher):
    """Compare the sizes student and teacher features share, loss by loss.

    Args:
        distiller: a built ``ConfigurableDistiller`` (its ``loss_forward_mappings``,
            ``student_recorders``, ``teacher_recorders``). Its optional attribute
            ``loss_config_keys`` (loss name -> config key, e.g. VKDDistiller's
            ``model.distiller.feature_pairs[4]``) is named in the error.
        student, teacher: the built models; only those with ``distill_sizes`` are
            checked.

    Raises:
        ValueError: the first loss with a mismatch, naming the loss, the sizes and the
        config keys of both models.
    """
    if not (hasattr(student, 'distill_sizes') and hasattr(teacher, 'distill_sizes')):
        return
    origins = getattr(distiller, 'loss_config_keys', {})
    for loss_name, mapping in distiller.loss_forward_mappings.items():
        problems = []
        for s_arg, t_arg in zip(*_split(mapping)):
            s_sizes = _sizes(student, distiller.student_recorders, s_arg)
            t_sizes = _sizes(teacher, distiller.teacher_recorders, t_arg)
            for label, (s_size, s_key) in s_sizes.items():
                if label not in t_sizes or (label == 'channels'
                                            and s_arg.get('connector')):
                    continue
                t_size, t_key = t_sizes[label]
                msg = (f'student {label} {s_size} != teacher {label} {t_size} '
                       f'(model.architecture.{s_key} vs model.teacher.{t_key})')
                if s_size != t_size and msg not in problems:
                    problems.append(msg)
        if problems:
            where = f' (from {origins[loss_name]})' if loss_name in origins else ''
            raise ValueError(f'model.distiller.distill_losses.{loss_name}{where}: ' +
                             '; '.join(problems))
