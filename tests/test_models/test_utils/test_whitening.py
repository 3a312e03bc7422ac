"""Whitening maths (no OpenMMLab imports needed): batch covariance and the Cholesky /
ZCA whitening matrices."""
import pytest
import torch

from mmkd_ext.models.utils.whitening import batch_covariance, whitening_matrix


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_whitening_matrix_gives_identity_covariance(method):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(
        500, 6, generator=g, dtype=torch.float64) @ torch.randn(
            6, 6, generator=g, dtype=torch.float64)
    mu, cov = batch_covariance(z)
    assert torch.allclose(cov, torch.cov(z.T), atol=1e-10)
    W = whitening_matrix(cov, method, eps=0.0)
    y = (z - mu) @ W.T
    assert torch.allclose(torch.cov(y.T), torch.eye(6, dtype=z.dtype), atol=1e-8)
    if method == 'zca':
        assert torch.allclose(W, W.T, atol=1e-10)
    else:
        assert torch.allclose(W, W.tril())
    with pytest.raises(ValueError, match='method'):
        whitening_matrix(cov, 'pca')
