"""ViDT detector: per-layer losses, predictions in image coordinates, overfitting."""
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


@pytest.fixture(scope='module')
def model(build_vidt):
    torch.manual_seed(0)
    return build_vidt()


def test_loss_finite_with_seven_layers(model, det_batch):
    model.train()
    inputs, samples = det_batch([(64, 64), (48, 56)])
    losses = model.loss(inputs, samples)
    expected = {'loss_cls', 'loss_bbox', 'loss_iou'}
    expected |= {
        f'd{i}.{k}'
        for i in range(6)
        for k in ('loss_cls', 'loss_bbox', 'loss_iou')
    }
    assert set(losses) == expected
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.bbox_head.num_pred_layer == 7


def test_predict_boxes_in_image_coordinates(model, det_batch):
    model.eval()
    inputs, samples = det_batch([(64, 64), (48, 56)])
    with torch.no_grad():
        results = model.predict(inputs, samples, rescale=True)
    assert len(results) == 2
    for res, (h, w) in zip(results, [(128, 128), (96, 112)]):
        assert isinstance(res, DetDataSample)
        boxes = res.pred_instances.bboxes
        assert boxes.shape == (100, 4)
        assert res.pred_instances.scores.shape == (100, )
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= w + 1e-3).all()
        assert (boxes[:, 1] >= 0).all() and (boxes[:, 3] <= h + 1e-3).all()
        assert (boxes[:, 2] >= boxes[:, 0]).all()


def test_few_steps_on_one_image_reduce_loss(build_vidt, det_batch):
    torch.manual_seed(0)
    model = build_vidt(num_det=20, dec_layers=2)
    model.train()
    for m in model.modules():  # deterministic steps: no dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    inputs, samples = det_batch([(64, 64)])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    history = []
    for _ in range(6):
        loss = sum(model.loss(inputs, samples).values())
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(loss.item())
    assert history[-1] < 0.85 * history[0], history


def test_bbox_head_keys_set_by_detector_are_rejected():
    cfg = Config.fromfile(osp.join(REPO, 'configs/vidt/vidt_swin-nano_50e_coco.py'))
    cfg.model.bbox_head.num_pred_layer = 7
    with DefaultScope.overwrite_default_scope('mmdet'):
        with pytest.raises(KeyError, match='num_pred_layer'):
            MODELS.build(cfg.model)
