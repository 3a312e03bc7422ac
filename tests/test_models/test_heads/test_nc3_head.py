"""NC3Head: class weights from the prototype bank (no class-weight parameters, hand
logits) or a fixed simplex ETF with an orthogonal projector and a learned scale."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS as CLS_MODELS
from mmpretrain.structures import DataSample

import mmkd_ext  # noqa: F401


def test_nc3_head_bank_hand_logit_and_no_class_weight_params(filled_bank):
    bank = filled_bank(d=6)
    head = CLS_MODELS.build(
        dict(type='NC3Head', num_classes=4, in_channels=6, bank=bank, scale=10.0))
    assert [n for n, p in head.named_parameters()] == []
    x = torch.randn(3, 6)
    logits = head((x, ))
    m = bank.means - bank.means.mean(0)
    m = m / m.norm(dim=1, keepdim=True)
    hand = 10.0 * (x / x.norm(dim=1, keepdim=True)) @ m.T
    torch.testing.assert_close(logits, hand)
    assert logits[0, 1].item() == pytest.approx(
        10.0 * F.cosine_similarity(x[0], m[1], dim=0).item(), rel=1e-5)
    samples = [DataSample().set_gt_label(k) for k in (0, 1, 2)]
    losses = head.loss((x, ), samples)
    torch.testing.assert_close(losses['loss'],
                               F.cross_entropy(hand, torch.tensor([0, 1, 2])))


def test_nc3_head_etf_projector_and_learned_scale(filled_bank):
    head = CLS_MODELS.build(
        dict(
            type='NC3Head',
            num_classes=5,
            in_channels=3,
            feat_dim=8,
            learnable_scale=True,
            projector=dict(type='OrthogonalConnector', in_channels=3, out_channels=8)))
    w = head.fc.weight
    gram = w @ w.T
    torch.testing.assert_close(torch.diagonal(gram), torch.ones(5))
    torch.testing.assert_close(gram[0, 1], torch.tensor(-0.25), atol=1e-6, rtol=0)
    names = [n for n, _ in head.named_parameters()]
    assert 'fc.scale' in names and not any('etf' in n or 'bank' in n for n in names)
    assert 'fc.etf' in head.state_dict()
    x = torch.randn(4, 3)
    logits = head((x, ))
    proj = head.projector(x)
    torch.testing.assert_close(proj.norm(dim=1), x.norm(dim=1))  # orthogonal g
    torch.testing.assert_close(
        logits,
        head.fc.scale * torch.nn.functional.normalize(proj, dim=1) @ w.T)
    logits.sum().backward()
    assert head.fc.scale.grad is not None
    with pytest.raises(ValueError, match='projector=dict'):
        CLS_MODELS.build(
            dict(type='NC3Head', num_classes=4, in_channels=64, bank=filled_bank(d=6)))


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b24_nc3_head_dimension_mismatch(raises):
    raises(
        ValueError, lambda: CLS_MODELS.build(
            dict(
                type='mmpretrain.NC3Head',
                num_classes=3,
                in_channels=8,
                bank=dict(num_classes=3, feat_dim=16, name=None),
                projector=dict(
                    type='OrthogonalConnector', in_channels=8, out_channels=12))),
        'projector.out_channels=12', 'bank.feat_dim')
