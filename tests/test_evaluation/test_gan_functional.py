"""FID / IS / PRDC formulas (mmkd_ext.evaluation.gan_functional): hand values, the
symmetric FID definition, loud failures, PRDC equal to Naeem et al.'s ``prdc`` with
boundary ties. (The whole metric against torch-fidelity: test_generative_metric.py.)"""
import numpy as np
import pytest
import torch

from mmkd_ext.evaluation.gan_functional import (feature_stats, frechet_distance,
                                                inception_score, prdc)


def fid(a, b):
    return frechet_distance(*feature_stats(a), *feature_stats(b))


def _sqrtm_psd(S):
    lam, U = np.linalg.eigh(S)
    return (U * np.sqrt(lam.clip(0))) @ U.T


def test_fid_self_zero_and_grows_with_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 16, generator=g)
    assert abs(fid(x, x)) < 1e-6
    vals = [fid(x, x + s) for s in (0.1, 0.5, 1.0)]
    # mean shift only: FID = ||shift||^2 = 16 s^2
    assert vals == pytest.approx([16 * 0.01, 16 * 0.25, 16.0], rel=1e-5)
    # scale 2: ||mu||^2 + tr(S) + tr(4S) - 2 tr((4 S^2)^1/2) = ||mu||^2 + tr(S)
    mu, cov = feature_stats(x)
    assert fid(x, 2 * x) == pytest.approx(float(mu @ mu + np.trace(cov)), rel=1e-9)


def test_fid_equals_the_symmetric_definition():
    """Eigenvalues of S1 S2 (torch-fidelity's route) = tr((S1^1/2 S2 S1^1/2)^1/2)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 12)) @ rng.standard_normal((12, 12))
    b = rng.standard_normal((400, 12)) @ rng.standard_normal((12, 12)) + 0.3
    (m1, s1), (m2, s2) = feature_stats(a), feature_stats(b)
    r1 = _sqrtm_psd(s1)
    diff = m1 - m2
    cross = np.trace(_sqrtm_psd(r1 @ s2 @ r1))
    ref = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * cross
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(ref, rel=1e-10)


def test_fid_fails_loudly_on_imaginary_component():
    mu = np.zeros(4)
    with pytest.raises(ValueError, match='imaginary component'):
        frechet_distance(mu, np.eye(4), mu, -np.eye(4))  # not a covariance
    with pytest.raises(ValueError, match='statistics shapes differ'):
        frechet_distance(mu, np.eye(4), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match='NaN or Inf'):
        feature_stats(torch.tensor([[0.0, float('nan')], [1.0, 2.0]]))


def test_inception_score_bounds():
    uniform = torch.zeros(100, 10)
    assert inception_score(uniform, splits=10)[0] == pytest.approx(1.0)
    confident = torch.full((100, 10), -50.0)
    confident[torch.arange(100), torch.arange(100) % 10] = 50.0
    mean, std = inception_score(confident, splits=10, shuffle=False)
    assert mean == pytest.approx(10.0, rel=1e-6) and std < 1e-6
    # torch-fidelity shuffles first (RandomState(2020)): the splits are no longer
    # class balanced, so the score drops below 10
    assert inception_score(confident, splits=10)[0] < 10 - 1e-3


def test_prdc_identical_and_disjoint():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 8, generator=g)
    same = prdc(x, x, k=5)
    assert same['precision'] == 1 and same['recall'] == 1 and same['coverage'] == 1
    assert same['density'] >= 1  # each fake point lies in its own ball + neighbours'
    far = prdc(x, x + 100, k=5)
    assert far == dict(precision=0, recall=0, density=0, coverage=0)
    # hand check on 1-d points, k=1
    real = torch.tensor([[0.], [1.], [3.]])  # radii 1, 1, 2
    fake = torch.tensor([[0.5], [0.7], [10.]])  # radii 0.2, 0.2, 9.3
    out = prdc(real, fake, k=1)
    assert out['precision'] == pytest.approx(2 / 3)  # 0.5, 0.7 in ball(0, 1)
    assert out['density'] == pytest.approx(4 / 3)  # each in balls of 0 and 1
    assert out['coverage'] == pytest.approx(2 / 3)  # 3's nearest fake is 2.3 away
    assert out['recall'] == pytest.approx(2 / 3)  # 1 and 3 inside ball(10, 9.3)


def test_prdc_equals_naeem_package_with_ties():
    """Integer lattices put many points exactly on a ball's boundary: only the strict
    ``<`` of the reference package gives its numbers."""
    from prdc import compute_prdc
    rng = np.random.default_rng(0)
    real = rng.integers(0, 4, (60, 3)).astype(np.float64)
    fake = rng.integers(0, 5, (50, 3)).astype(np.float64)
    for k in (1, 3, 5):
        ref = compute_prdc(real, fake, nearest_k=k)
        ours = prdc(torch.from_numpy(real), torch.from_numpy(fake), k=k)
        for key in ('precision', 'recall', 'density', 'coverage'):
            assert ours[key] == pytest.approx(float(ref[key]), abs=1e-12), (k, key)
    # the lattice really has boundary ties (a `<=` would give other numbers)
    d = torch.cdist(torch.from_numpy(real), torch.from_numpy(fake))
    r = torch.cdist(torch.from_numpy(real), torch.from_numpy(real)).kthvalue(4, 1).values
    assert ((d == r[:, None]).sum() > 0)
