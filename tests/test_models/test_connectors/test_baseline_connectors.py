"""Baseline projectors of the VKD ablations: LinearConnector, MLPConnector,
ProjectorEnsembleConnector."""
import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.connectors import (LinearConnector, MLPConnector,
                                        ProjectorEnsembleConnector)
from mmkd_ext.models.utils.orthogonal import random_orthonormal


@pytest.mark.parametrize('cls',
                         [LinearConnector, MLPConnector, ProjectorEnsembleConnector])
def test_baseline_projectors(cls):
    conn = cls(6, 10)
    for x, shape in ((torch.randn(3, 6), (3, 10)), (torch.randn(3, 5, 6), (3, 5, 10)),
                     (torch.randn(3, 6, 2, 2), (3, 10, 2, 2))):
        assert conn(x).shape == shape
    conn(torch.randn(3, 6)).sum().backward()
    assert all(p.grad is not None for p in conn.parameters())
    with pytest.raises(ValueError, match='in_channels'):
        conn(torch.randn(3, 5))


def test_projector_ensemble_is_mean_of_members():
    ens = ProjectorEnsembleConnector(6, 10, num_projectors=3)
    x = torch.randn(4, 6)
    ref = sum(p(x) for p in ens.projectors) / 3
    assert torch.allclose(ens(x), ref, atol=1e-6)
    assert random_orthonormal(3, 2).shape == (3, 2)
