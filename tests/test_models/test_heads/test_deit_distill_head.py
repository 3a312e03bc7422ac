"""DeiTDistillClsHead: class-token CE, distillation-token KL (T = 1) through MMRazor's
KLDivergence on the recorded head_dist output, test-time averaging; hand computations."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample
from mmrazor.models.task_modules import ModuleOutputsRecorder
from mmrazor.registry import MODELS as RAZOR_MODELS

import mmkd_ext  # noqa: F401


def make_head(loss=None, **kwargs):
    head = CLS_MODELS.build(
        dict(
            type='DeiTDistillClsHead',
            num_classes=5,
            in_channels=8,
            loss=loss or dict(type='CrossEntropyLoss', loss_weight=1.0),
            **kwargs))
    torch.manual_seed(0)
    for p in head.parameters():  # the default init is zeros
        torch.nn.init.normal_(p, std=0.5)
    return head


def feats_and_samples(n=6, seed=1):
    g = torch.Generator().manual_seed(seed)
    cls_tok, dist_tok = torch.randn(n, 8, generator=g), torch.randn(n, 8, generator=g)
    labels = torch.randint(0, 5, (n, ), generator=g)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    return ((cls_tok, dist_tok), ), samples, labels


def test_losses_match_hand_computation():
    head = make_head()
    feats, samples, labels = feats_and_samples()
    (cls_tok, dist_tok), = feats
    w_c, b_c = head.layers.head.weight, head.layers.head.bias
    w_d, b_d = head.layers.head_dist.weight, head.layers.head_dist.bias
    cls_logits = cls_tok @ w_c.T + b_c
    dist_logits = dist_tok @ w_d.T + b_d

    recorder = ModuleOutputsRecorder('layers.head_dist')
    recorder.initialize(head)
    with recorder:
        losses = head.loss(feats, samples)
    # CE on the class token only: -mean_i log softmax(W_c z_i + b_c)[y_i]
    logp = cls_logits.log_softmax(-1)
    hand_ce = -logp[torch.arange(6), labels].mean()
    assert torch.allclose(losses['loss'], hand_ce, atol=1e-6)
    # the distillation-token logits were recorded for the distill loss
    recorded = recorder.get_record_data()
    assert torch.allclose(recorded, dist_logits, atol=1e-6)

    teacher = torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    kl = RAZOR_MODELS.build(dict(type='KLDivergence', tau=1, loss_weight=1.0))
    p_t = teacher.softmax(-1)
    hand_kl = (p_t * (p_t.log() - dist_logits.log_softmax(-1))).sum(-1).mean()
    assert torch.allclose(kl(recorded, teacher), hand_kl, atol=1e-6)
    # the CE gradient reaches only the class head, the KL only the dist head
    (losses['loss'] + kl(recorded, teacher)).backward()
    assert w_c.grad.abs().sum() > 0 and w_d.grad.abs().sum() > 0
    head.zero_grad()
    head.loss(feats, samples)['loss'].backward()
    assert w_d.grad is None or w_d.grad.abs().sum() == 0


def test_label_smoothing_and_soft_targets():
    head = make_head(
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'))
    feats, samples, labels = feats_and_samples()
    cls_logits = feats[0][0] @ head.layers.head.weight.T + head.layers.head.bias
    target = F.one_hot(labels, 5).float() * 0.9 + 0.1 / 5
    hand = -(target * cls_logits.log_softmax(-1)).sum(-1).mean()
    assert torch.allclose(head.loss(feats, samples)['loss'], hand, atol=1e-5)


def test_test_time_average_of_both_heads():
    head = make_head()
    head.eval()
    feats, samples, _ = feats_and_samples()
    (cls_tok, dist_tok), = feats
    avg = ((cls_tok @ head.layers.head.weight.T + head.layers.head.bias) +
           (dist_tok @ head.layers.head_dist.weight.T + head.layers.head_dist.bias)) / 2
    assert torch.allclose(head(feats), avg, atol=1e-6)
    preds = head.predict(feats, samples)
    assert torch.allclose(
        torch.stack([p.pred_score for p in preds]), avg.softmax(-1), atol=1e-6)
    assert [int(p.pred_label) for p in preds] == avg.argmax(-1).tolist()
    head.train()  # no training-mode switch: forward is always the average
    assert torch.allclose(head(feats), avg, atol=1e-6)


def test_with_distilled_vit_backbone_and_bad_input():
    backbone = CLS_MODELS.build(
        dict(
            type='DistilledVisionTransformer',
            arch=dict(embed_dims=8, num_layers=1, num_heads=2, feedforward_channels=16),
            img_size=16,
            patch_size=8,
            out_type='cls_token'))
    head = make_head()
    feats = backbone(torch.randn(2, 3, 16, 16))
    assert head(feats).shape == (2, 5)
    with pytest.raises(TypeError, match="out_type='cls_token'"):
        head((torch.randn(2, 8), ))
