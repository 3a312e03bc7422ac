"""FID / IS / PRDC formulas, the GenerativeMetric and the Inception extractor."""
import numpy as np
import pytest
import torch

from mmkd_ext.evaluation import GenerativeMetric, InceptionV3FeatureExtractor
from mmkd_ext.evaluation.gan_functional import (feature_stats, frechet_distance,
                                                inception_score, prdc)


def fid(a, b):
    return frechet_distance(*feature_stats(a), *feature_stats(b))


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


def test_inception_score_bounds():
    uniform = torch.zeros(100, 10)
    assert inception_score(uniform, splits=10)[0] == pytest.approx(1.0)
    confident = torch.full((100, 10), -50.0)
    confident[torch.arange(100), torch.arange(100) % 10] = 50.0
    mean, std = inception_score(confident, splits=10)
    assert mean == pytest.approx(10.0, rel=1e-6) and std < 1e-6


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


def test_missing_inception_weights_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='feature_extractor.weights'):
        InceptionV3FeatureExtractor(weights=str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError, match='feature_extractor.weights'):
        InceptionV3FeatureExtractor(weights=None)
    with pytest.raises(FileNotFoundError, match='feature_extractor.weights'):
        GenerativeMetric(
            feature_extractor=dict(type='InceptionV3FeatureExtractor',
                                   weights=str(tmp_path / 'nope.pth')),
            real_dataset=dict(type='DigitsGANDataset', split='test'))


def test_inception_extractor_from_local_file(tmp_path):
    from torchvision.models import inception_v3
    torch.manual_seed(0)
    net = inception_v3(weights=None, aux_logits=False, init_weights=False,
                       num_classes=1008)
    path = tmp_path / 'inception.pth'
    torch.save(net.state_dict(), path)
    ext = InceptionV3FeatureExtractor(weights=str(path), resize=75)
    feat, logits = ext(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert feat.shape == (2, 2048) and logits.shape == (2, 1008)


def test_generative_metric_on_classifier_features(tmp_path):
    """Real test split vs itself (as 'fake'): FID ~ 0, precision = recall = 1."""
    from mmkd_ext.datasets import DigitsGANDataset
    clf = dict(_scope_='mmpretrain', type='ImageClassifier',
               backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=4,
                             base_channels=4, num_stages=4, out_indices=(3, )),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=10, in_channels=32))
    metric = GenerativeMetric(
        feature_extractor=dict(type='ClassifierFeatureExtractor', model=clf),
        real_dataset=dict(type='DigitsGANDataset', split='test', img_size=16),
        prdc_k=3, is_splits=2, real_stats_cache=str(tmp_path / 'real.npz'))
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
        prdc_k=3, is_splits=2, real_stats_cache=str(tmp_path / 'real.npz'))
    noisy.extractor.load_state_dict(metric.extractor.state_dict())
    noisy.process({}, [dict(fake_img=im) for im in torch.rand(120, 3, 16, 16) * 2 - 1])
    assert noisy.compute_metrics(noisy.results)['FID'] > res['FID'] + 1e-3
