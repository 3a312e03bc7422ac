"""Pooling and chaining connectors: TokenMeanPoolConnector, GlobalAvgPoolConnector,
SequentialConnector."""
import pytest
import torch
import torch.nn.functional as F

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import (GlobalAvgPoolConnector, SequentialConnector,
                                        TokenMeanPoolConnector)


def test_pooling_and_sequential():
    tokens = torch.randn(2, 6, 4)
    pool = TokenMeanPoolConnector(num_skip_tokens=2)
    assert torch.allclose(pool(tokens), tokens[:, 2:].mean(1))
    assert torch.allclose(pool((torch.randn(2, 3, 4), tokens)), tokens[:, 2:].mean(1))
    with pytest.raises(ValueError, match='num_skip_tokens'):
        TokenMeanPoolConnector(6)(tokens)
    fmap = torch.randn(2, 4, 3, 3)
    gap = GlobalAvgPoolConnector()
    assert torch.allclose(gap((fmap, )), fmap.mean((2, 3)))
    assert torch.allclose(gap(fmap.mean((2, 3))), fmap.mean((2, 3)))
    seq = SequentialConnector([
        dict(type='GlobalAvgPoolConnector'),
        dict(type='OrthogonalConnector', in_channels=4, out_channels=8),
        dict(type='FeatureStandardizer', mode='sample')
    ])
    out = seq(fmap)
    proj = seq.connectors[1]
    assert torch.allclose(out, F.layer_norm(proj(fmap.mean((2, 3))), (8, )), atol=1e-5)
    with pytest.raises(ValueError, match='connectors'):
        SequentialConnector([])
