"""FeatureStandardizer: per-sample (layer norm) and per-batch standardisation."""
import pytest
import torch
import torch.nn.functional as F

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import FeatureStandardizer


def test_standardizer_modes():
    x = torch.randn(4, 7, 10)
    assert torch.equal(
        FeatureStandardizer('sample')(x), F.layer_norm(x, (10, ), eps=1e-5))
    fmap = torch.randn(3, 10, 2, 2)
    ref = F.layer_norm(fmap.permute(0, 2, 3, 1), (10, )).permute(0, 3, 1, 2)
    assert torch.allclose(FeatureStandardizer('sample')(fmap), ref, atol=1e-6)
    y = FeatureStandardizer('batch', eps=0.0)(x * 3 + 1)
    flat = y.reshape(-1, 10)
    assert torch.allclose(flat.mean(0), torch.zeros(10), atol=1e-5)
    assert torch.allclose(flat.std(0), torch.ones(10), atol=1e-5)  # unbiased std
    with pytest.raises(ValueError, match='at least 2 tokens'):
        FeatureStandardizer('batch')(torch.randn(1, 10))
    with pytest.raises(ValueError, match='mode'):
        FeatureStandardizer('layer')


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b04_unknown_normaliser_mode(raises, razor_build):
    """B4, the standardizer's ``mode`` (the whitener's ``method``:
    test_feature_whitener.py)."""
    raises(ValueError,
           lambda: razor_build(dict(type='FeatureStandardizer', mode='layer')), '`mode`',
           "'sample'", "'layer'")


def test_b15_batch_statistics_with_batch_one(raises, razor_build):
    """B15, the batch standardizer (the whitener: test_feature_whitener.py)."""
    cfg = dict(type='FeatureStandardizer', mode='batch')
    raises(ValueError, lambda: razor_build(cfg)(torch.randn(1, 8)), 'at least 2 tokens',
           '(1, 8)')
