"""Build-time checks of a student / teacher pair, with the config keys in the errors.

* :func:`prefix_model_keys`: a model's own errors name keys relative to a plain config
  (``model.neck.in_channels``); inside a distillation algorithm the same model is
  ``model.architecture`` (student) or ``model.teacher``, so the keys are rewritten
  (``model.architecture.neck.in_channels``).
* :func:`check_record_sizes`: every distillation loss compares student and teacher
  features recorded at some modules. For the model classes in :data:`SIZE_ADAPTERS`
  an adapter knows which of the model's sizes such a feature carries,
  ``adapter(model, source, data_idx) -> {label: (size, key)}`` (:func:`vidt_sizes`:
  [DET] tokens, decoder layers, feature levels). Every size the two sides of a loss
  input pair must share is compared before the first iteration; a mismatch is a
  ``ValueError`` such as::

      model.distiller.distill_losses.loss_vkd_det: student [DET] tokens 20 != teacher
      [DET] tokens 30 (model.architecture.num_queries vs model.teacher.num_queries)

  ``channels`` entries are compared only where no connector sits on the student side
  (a connector, e.g. VKD's projector, maps the student's width to the teacher's).
"""
import re

from ..detectors.vidt import ViDT

__all__ = ['prefix_model_keys', 'check_record_sizes', 'vidt_sizes', 'SIZE_ADAPTERS']

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


def vidt_sizes(model, source, data_idx=None):
    """Sizes of the features a distiller records at :class:`ViDT` module ``source``
    that a teacher must share, each with its config key (relative to the detector).

    ``'neck'`` (the whole tuple): the number of feature levels; ``'tgt_proj'``,
    ``'query_pos_proj'``, ``'decoder.layers.<i>'``: [DET] tokens; ``'decoder'``:
    decoder layers and [DET] tokens; ``'bbox_head'`` element 0 (its input
    ``hidden_states`` (L + 1, N, Q, 256) = [decoder input; L decoder layer outputs],
    the reference's ``hs``, recorded by ``ModuleInputs``; or its output logits
    (L + 1, N, Q, classes)): decoder layers and [DET] tokens. ``'channels'`` (the
    256-d width) only matters where no connector sits between the two models
    (docs/detection.md).

    Returns:
        dict: label -> (size, config key), e.g.
        ``{'[DET] tokens': (100, 'num_queries')}``; ``{}`` for other sources.
    """
    tokens = (model.num_queries, 'num_queries')
    width = (model.embed_dims, 'decoder.layer_cfg.self_attn_cfg.embed_dims')
    layers = (model.decoder.num_layers, 'decoder.num_layers')
    if source == 'neck':
        sizes = {'feature levels': (model.num_feature_levels, 'num_feature_levels')}
        return dict(sizes, channels=(model.embed_dims, 'neck.out_channels')) \
            if data_idx is None else {}
    if source == 'decoder':
        sizes = {'decoder layers': layers, '[DET] tokens': tokens}
        return dict(sizes, channels=width) if data_idx == 0 else sizes
    if source == 'bbox_head' and data_idx == 0:
        return {'decoder layers': layers, '[DET] tokens': tokens}
    if source in ('tgt_proj', 'query_pos_proj'):
        return {'[DET] tokens': tokens, 'channels': width}
    if source.startswith('decoder.layers.'):
        return {'[DET] tokens': tokens}
    return {}


#: model class -> adapter ``(model, source, data_idx) -> {label: (size, key)}``
SIZE_ADAPTERS = {ViDT: vidt_sizes}


def _adapter(model):
    return next((fn for cls, fn in SIZE_ADAPTERS.items() if isinstance(model, cls)), None)


def _sizes(model, recorders, arg):
    recorder = recorders.recorders.get(arg['recorder'])
    source = getattr(recorder, 'source', None)
    if not isinstance(source, str):
        return {}
    return _adapter(model)(model, source, arg.get('data_idx'))


def check_record_sizes(distiller, student, teacher):
    """Compare the sizes student and teacher features share, loss by loss.

    Args:
        distiller: a built ``ConfigurableDistiller`` (its ``loss_forward_mappings``,
            ``student_recorders``, ``teacher_recorders``). Its optional attribute
            ``loss_config_keys`` (loss name -> config key, e.g. VKDDistiller's
            ``model.distiller.feature_pairs[4]``) is named in the error.
        student, teacher: the built models; checked when both have an adapter in
            :data:`SIZE_ADAPTERS`.

    Raises:
        ValueError: the first loss with a mismatch, naming the loss, the sizes and the
        config keys of both models.
    """
    if _adapter(student) is None or _adapter(teacher) is None:
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
