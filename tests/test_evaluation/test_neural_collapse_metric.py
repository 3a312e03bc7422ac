"""NeuralCollapseMetric with NCFeatureHook on a plain classifier: the metrics equal
``nc_metrics`` on the penultimate features; the hook removes its handles; a clear
error without the hook."""
import pytest
import torch
from mmpretrain.registry import METRICS
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample

import mmkd_ext  # noqa: F401


def test_metric_and_hook_on_plain_classifier(tiny_classifier):
    from mmengine.evaluator import Evaluator

    from mmkd_ext.engine import NCFeatureHook
    model = CLS_MODELS.build(tiny_classifier(8, num_classes=3)).eval()
    evaluator = Evaluator(
        [dict(type='mmpretrain.Accuracy'),
         dict(type='mmpretrain.NeuralCollapseMetric')])

    class FakeRunner:  # the two attributes the hook reads
        pass

    runner = FakeRunner()
    runner.model = model
    hook = NCFeatureHook()
    hook.before_val_epoch(runner)
    torch.manual_seed(0)
    imgs = torch.randn(9, 3, 16, 16)
    samples = [DataSample().set_gt_label(k % 3) for k in range(9)]
    with torch.no_grad():
        feats = model.extract_feat(imgs)[-1]
        out = model(imgs, samples, mode='predict')
    evaluator.process(out)
    metrics = evaluator.evaluate(9)
    hook.after_val_epoch(runner)
    assert not hook._handles
    from mmkd_ext.models.utils.neural_collapse import nc_metrics
    ref = nc_metrics(feats, torch.arange(9) % 3, model.head.fc.weight)
    for key, value in ref.items():
        assert metrics[f'nc/{key}'] == pytest.approx(value, rel=1e-4), key
    assert 'accuracy/top1' in metrics
    with torch.no_grad():  # hooks are gone: no features attached
        fresh = [DataSample().set_gt_label(k % 3) for k in range(9)]
        assert 'nc_feat' not in model(imgs, fresh, mode='predict')[0]
    metric = METRICS.build(dict(type='NeuralCollapseMetric'))
    with pytest.raises(KeyError, match='NCFeatureHook'):
        metric.process(None, [DataSample().set_gt_label(0).to_dict()])
