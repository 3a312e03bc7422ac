"""Hook that hands penultimate features and classifier weights to NeuralCollapseMetric."""
from typing import List

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmkd_ext.evaluation.neural_collapse_metric import NC_FEAT_KEY, NC_WEIGHT_KEY
from mmkd_ext.registry import HOOKS


def find_classifiers(model) -> List:
    """The classifiers to record: the model itself, or the student (``architecture``)
    and the teacher of an MMRazor distillation algorithm."""
    if is_model_wrapper(model):
        model = model.module
    found = [
        getattr(model, name) for name in ('architecture', 'teacher')
        if hasattr(model, name)
    ]
    return found or [model]


def get_submodule(model, path: str):
    try:
        return model.get_submodule(path)
    except AttributeError:
        raise KeyError(f'NCFeatureHook.classifier_layer: {type(model).__name__} has no '
                       f'submodule "{path}" (expected the layer whose input is the '
                       'penultimate feature and whose .weight is (C, d))') from None


@HOOKS.register_module()
class NCFeatureHook(Hook):
    """Record the input of the classifier layer during validation / test.

    A forward hook on ``classifier_layer`` (default ``head.fc``: ``nn.Linear`` of
    ``LinearClsHead``, the prototype classifier of ``NC3Head``) keeps the (N, d)
    features of the current forward; a forward hook on the classifier writes them into
    its output data samples as ``nc_feat`` (one row each) together with the layer's
    ``weight`` (C, d) as ``nc_weight`` (one shared reference, no copy). Hooks exist only
    between ``before_val_epoch`` / ``before_test_epoch`` and the matching ``after_*``,
    so training is untouched.

    Args:
        classifier_layer (str): path of the classifier layer inside each classifier.
    """
    priority = 'NORMAL'

    def __init__(self, classifier_layer: str = 'head.fc'):
        self.classifier_layer = classifier_layer
        self._handles = []

    def _register(self, runner):
        if self._handles:
            return
        for clf in find_classifiers(runner.model):
            layer = get_submodule(clf, self.classifier_layer)
            slot = {}

            def keep(module, inputs, output, slot=slot):
                slot['feat'] = inputs[0].detach()
                slot['weight'] = module.weight.detach()

            def attach(module, inputs, outputs, slot=slot):
                if not isinstance(outputs, list) or 'feat' not in slot:
                    return
                feat, weight = slot.pop('feat'), slot.pop('weight')
                if feat.shape[0] != len(outputs):
                    return
                for i, sample in enumerate(outputs):
                    if hasattr(sample, 'set_field'):
                        sample.set_field(feat[i], NC_FEAT_KEY)
                        sample.set_field(weight, NC_WEIGHT_KEY)

            self._handles += [
                layer.register_forward_hook(keep),
                clf.register_forward_hook(attach)
            ]

    def _remove(self, runner=None, **kwargs):
        for h in self._handles:
            h.remove()
        self._handles = []

    def before_val_epoch(self, runner):
        self._register(runner)

    def before_test_epoch(self, runner):
        self._register(runner)

    after_val_epoch = _remove
    after_test_epoch = _remove
