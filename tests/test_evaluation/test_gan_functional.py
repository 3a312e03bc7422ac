"""FID / IS / PRDC: formulas, parity with the maintained implementations
(torch-fidelity's ``calculate_metrics``, Naeem et al.'s ``prdc``), the GenerativeMetric
and its feature extractors."""
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmkd_ext.evaluation import GenerativeMetric, InceptionV3FeatureExtractor
from mmkd_ext.evaluation import gan_feature_extractors as gfe
from mmkd_ext.evaluation.gan_functional import (feature_stats, frechet_distance,
                                                inception_score, prdc)
from mmkd_ext.models.utils.checkpoint import CheckpointError


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


def test_float_images_quantised_like_save_image():
    u = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16).expand(2, 3, 16, 16)
    x = u.float() / 127.5 - 1.0  # what a generator in [-1, 1] would output
    assert torch.equal(gfe.images_to_uint8(x), u)
    assert torch.equal(gfe.images_to_uint8(u), u)
    assert torch.equal(
        gfe.images_to_uint8(torch.tensor([-3.0, 3.0])),
        torch.tensor([0, 255], dtype=torch.uint8))
    with pytest.raises(TypeError, match='uint8'):
        gfe.images_to_uint8(torch.zeros(2, dtype=torch.int64))


# -- the FID Inception: a seeded random-weight file in torch-fidelity's format ----------
def _images(n, seed, shift=0.0):
    """Smooth random 32 x 32 uint8 images (CIFAR-sized)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 4, 4, generator=g)
    x = F.interpolate(low, size=32, mode='bilinear', align_corners=False)
    x = x + 0.15 * torch.randn(n, 3, 32, 32, generator=g) + shift
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def _write_fid_inception_weights(path, seed=0):
    """torch-fidelity's ``FeatureExtractorInceptionV3`` state dict (same names as
    torchvision's ``Inception3`` without AuxLogits, 1008 classes) with seeded
    He-normal convolutions and batch-norm statistics calibrated on a few images at
    299 px, so that features vary between images and the logits are confident."""
    from torchvision.models import inception_v3
    g = torch.Generator().manual_seed(seed)
    net = inception_v3(
        weights=None, aux_logits=False, init_weights=False, num_classes=1008)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith('conv.weight'):
                p.copy_(torch.randn(p.shape, generator=g) * math.sqrt(2.0 / p[0].numel()))
            elif name.startswith('fc.'):
                p.copy_(torch.randn(p.shape, generator=g) * 10 / math.sqrt(2048))
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration batch
    net.train()
    with torch.no_grad():
        x = _images(4, seed + 1).float() / 127.5 - 1
        net(F.interpolate(x, size=299, mode='bilinear', align_corners=False))
    torch.save(net.state_dict(), path)


def _write_cifar10_test(root, images):
    folder = root / 'cifar-10-batches-py'
    folder.mkdir(parents=True)
    entry = {
        b'data': images.reshape(len(images), -1).numpy(),
        b'labels': [i % 10 for i in range(len(images))]
    }
    with open(folder / 'test_batch', 'wb') as f:
        pickle.dump(entry, f, protocol=2)


class _UInt8Images(torch.utils.data.Dataset):
    """What torch-fidelity takes as an input: a Dataset of uint8 (3, H, W) tensors."""

    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i]


N_IMAGES, IS_SPLITS, PRDC_K = 6, 2, 2


@pytest.fixture(scope='module')
def fid_setup(tmp_path_factory):
    import torch_fidelity
    root = tmp_path_factory.mktemp('fid')
    weights = root / 'weights-inception-random.pth'
    _write_fid_inception_weights(weights)
    real = _images(N_IMAGES, seed=10)
    fake = _images(N_IMAGES, seed=20, shift=0.1)
    _write_cifar10_test(root / 'cifar10', real)
    ref = torch_fidelity.calculate_metrics(
        input1=_UInt8Images(fake),
        input2=_UInt8Images(real),
        cuda=False,
        fid=True,
        isc=True,
        feature_extractor='inception-v3-compat',
        feature_extractor_weights_path=str(weights),
        isc_splits=IS_SPLITS,
        batch_size=N_IMAGES,
        save_cpu_ram=True,
        cache=False,
        verbose=False)
    return dict(root=root, weights=str(weights), real=real, fake=fake, ref=ref)


def test_fid_is_prdc_equal_torch_fidelity_and_prdc(fid_setup):
    from prdc import compute_prdc
    s, ref = fid_setup, fid_setup['ref']
    metric = GenerativeMetric(
        feature_extractor=dict(type='InceptionV3FeatureExtractor', weights=s['weights']),
        real_dataset=dict(
            type='CIFARGANDataset', data_root=str(s['root'] / 'cifar10'), split='test'),
        is_splits=IS_SPLITS,
        prdc_k=PRDC_K,
        batch_size=N_IMAGES)
    fake = s['fake'].float() / 127.5 - 1.0  # generator outputs in [-1, 1]
    half = N_IMAGES // 2
    for chunk in (fake[:half], fake[half:]):
        metric.process({}, [dict(fake_img=im) for im in chunk])
    out = metric.compute_metrics(metric.results)
    print(
        'torch-fidelity:', ref, 'ours:', out, 'max rel diff:',
        max(
            abs(out[a] / ref[b] - 1)
            for a, b in (('FID', 'frechet_inception_distance'),
                         ('IS', 'inception_score_mean'), ('IS_std',
                                                          'inception_score_std'))))
    assert ref['frechet_inception_distance'] > 1  # a non-trivial distance
    assert ref['inception_score_mean'] > 1.2  # confident, varied logits
    assert out['FID'] == pytest.approx(ref['frechet_inception_distance'], rel=1e-4)
    assert out['IS'] == pytest.approx(ref['inception_score_mean'], rel=1e-4)
    assert out['IS_std'] == pytest.approx(ref['inception_score_std'], rel=1e-4, abs=1e-9)
    # the extractor: pool3 (2048) and the unbiased logits pool3 @ W^T (IS's)
    ext = metric.extractor
    assert not ext.training and not any(p.requires_grad for p in ext.parameters())
    feat, logits = ext(s['real'][:1])
    assert feat.shape == (1, 2048) and logits.shape == (1, 1008)
    assert torch.allclose(logits, feat @ ext.net.fc.weight.T, atol=1e-4)
    assert torch.equal(feat, metric.real_features()[:1])  # uint8 read as stored
    with pytest.raises(ValueError, match=r'\(N, 3, H, W\)'):
        ext(torch.zeros(2, 1, 32, 32, dtype=torch.uint8))
    real_f = metric.real_features().numpy()
    fake_f = torch.stack([r['feat'] for r in metric.results]).numpy()
    naeem = compute_prdc(real_f, fake_f, nearest_k=PRDC_K)
    for key in ('precision', 'recall', 'density', 'coverage'):
        assert out[key] == pytest.approx(float(naeem[key]), abs=1e-12), key


def test_fid_inception_weight_errors(tmp_path, fid_setup, monkeypatch):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(FileNotFoundError, match='feature_extractor.weights'):
        InceptionV3FeatureExtractor(weights=missing)
    with pytest.raises(FileNotFoundError, match='feature_extractor.weights'):
        GenerativeMetric(
            feature_extractor=dict(type='InceptionV3FeatureExtractor', weights=missing),
            real_dataset=dict(type='DigitsGANDataset', split='test'))
    # weights=None: torch-fidelity's download; here it cannot succeed (no server on
    # this loopback port) and the error says what to set
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    monkeypatch.setattr(gfe, '_fid_inception_url',
                        lambda: 'http://127.0.0.1:9/weights-inception.pth')
    with pytest.raises(CheckpointError, match='feature_extractor.weights') as exc:
        InceptionV3FeatureExtractor(weights=None)
    assert gfe.FID_INCEPTION_FILE in str(exc.value)
    # torchvision's ImageNet Inception is not the FID Inception
    from torchvision.models import inception_v3
    tv = tmp_path / 'inception_v3_google.pth'
    torch.save(inception_v3(weights=None, init_weights=False).state_dict(), tv)
    with pytest.raises(CheckpointError, match='not the FID Inception'):
        InceptionV3FeatureExtractor(weights=str(tv))
    # a truncated FID Inception file: names what does not fit
    state = torch.load(fid_setup['weights'], weights_only=True)
    state.pop('Mixed_7c.branch_pool.conv.weight')
    cut = tmp_path / 'cut.pth'
    torch.save(state, cut)
    with pytest.raises(CheckpointError, match='Mixed_7c.branch_pool.conv.weight'):
        InceptionV3FeatureExtractor(weights=str(cut))


def test_generative_metric_on_classifier_features(tmp_path):
    """Real test split vs itself (as 'fake'): FID ~ 0, precision = recall = 1."""
    from mmkd_ext.datasets import DigitsGANDataset
    torch.manual_seed(0)  # the classifier's random weights
    clf = dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(
            type='ResNet_CIFAR',
            depth=18,
            stem_channels=4,
            base_channels=4,
            num_stages=4,
            out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=32))
    metric = GenerativeMetric(
        feature_extractor=dict(type='ClassifierFeatureExtractor', model=clf),
        real_dataset=dict(type='DigitsGANDataset', split='test', img_size=16),
        prdc_k=3,
        is_splits=2,
        real_stats_cache=str(tmp_path / 'real.npz'))
    ds = DigitsGANDataset(split='test', img_size=16)
    imgs = ds.images.float() / 127.5 - 1
    for start in range(0, len(ds), 100):
        metric.process({}, [dict(fake_img=im) for im in imgs[start:start + 100]])
    res = metric.compute_metrics(metric.results)
    assert abs(res['FID']) < 1e-3
    assert res['precision'] == 1 and res['recall'] == 1 and res['coverage'] == 1
    assert res['IS'] >= 1
    assert (tmp_path / 'real.npz').is_file()
    noisy = GenerativeMetric(
        feature_extractor=dict(type='ClassifierFeatureExtractor', model=clf),
        real_dataset=dict(type='DigitsGANDataset', split='test', img_size=16),
        prdc_k=3,
        is_splits=2,
        real_stats_cache=str(tmp_path / 'real.npz'))
    noisy.extractor.load_state_dict(metric.extractor.state_dict())
    noisy.process({}, [dict(fake_img=im) for im in torch.rand(120, 3, 16, 16) * 2 - 1])
    noisy_fid = noisy.compute_metrics(noisy.results)['FID']
    # (random-weight classifier: small feature scale, so compare relatively)
    assert noisy_fid > 1e-6 and noisy_fid > 1e6 * abs(res['FID'])
    # a cache written for another extractor / reference set is not reused
    other = GenerativeMetric(
        feature_extractor=dict(type='ClassifierFeatureExtractor', model=clf),
        real_dataset=dict(type='DigitsGANDataset', split='test', img_size=8),
        prdc_k=3,
        is_splits=2,
        real_stats_cache=str(tmp_path / 'real.npz'))
    assert other.real_features().shape[0] == len(ds)
    with np.load(tmp_path / 'real.npz') as data:
        assert '"img_size": 8' in str(data['tag'])
