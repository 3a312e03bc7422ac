"""GenerativeMetric: FID / IS / PRDC equal torch-fidelity's ``calculate_metrics`` and
Naeem et al.'s ``prdc`` on the FID Inception; on classifier features, real vs itself
gives FID ~ 0 and the real-statistics cache is keyed by extractor and reference set."""
import numpy as np
import pytest
import torch

from mmkd_ext.evaluation import GenerativeMetric


def test_fid_is_prdc_equal_torch_fidelity_and_prdc(fid_setup):
    from prdc import compute_prdc
    n_images, is_splits, prdc_k = (
        fid_setup[k] for k in ('n_images', 'is_splits', 'prdc_k'))
    s, ref = fid_setup, fid_setup['ref']
    metric = GenerativeMetric(
        feature_extractor=dict(type='InceptionV3FeatureExtractor', weights=s['weights']),
        real_dataset=dict(
            type='CIFARGANDataset', data_root=str(s['root'] / 'cifar10'), split='test'),
        is_splits=is_splits,
        prdc_k=prdc_k,
        batch_size=n_images)
    fake = s['fake'].float() / 127.5 - 1.0  # generator outputs in [-1, 1]
    half = n_images // 2
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
    naeem = compute_prdc(real_f, fake_f, nearest_k=prdc_k)
    for key in ('precision', 'recall', 'density', 'coverage'):
        assert out[key] == pytest.approx(float(naeem[key]), abs=1e-12), key


def _on_classifier(clf, cache, img_size=16):
    return GenerativeMetric(
        feature_extractor=dict(type='ClassifierFeatureExtractor', model=clf),
        real_dataset=dict(type='DigitsGANDataset', split='test', img_size=img_size),
        prdc_k=3,
        is_splits=2,
        real_stats_cache=str(cache))


def test_generative_metric_on_classifier_features(tmp_path, tiny_classifier):
    """Real test split vs itself (as 'fake'): FID ~ 0, precision = recall = 1."""
    from mmkd_ext.datasets import DigitsGANDataset
    torch.manual_seed(0)  # the classifier's random weights
    clf = dict(tiny_classifier(4, 10), _scope_='mmpretrain')
    metric = _on_classifier(clf, tmp_path / 'real.npz')
    ds = DigitsGANDataset(split='test', img_size=16)
    imgs = ds.images.float() / 127.5 - 1
    for start in range(0, len(ds), 100):
        metric.process({}, [dict(fake_img=im) for im in imgs[start:start + 100]])
    res = metric.compute_metrics(metric.results)
    assert abs(res['FID']) < 1e-3
    assert res['precision'] == 1 and res['recall'] == 1 and res['coverage'] == 1
    assert res['IS'] >= 1
    assert (tmp_path / 'real.npz').is_file()
    noisy = _on_classifier(clf, tmp_path / 'real.npz')
    noisy.extractor.load_state_dict(metric.extractor.state_dict())
    noisy.process({}, [dict(fake_img=im) for im in torch.rand(120, 3, 16, 16) * 2 - 1])
    noisy_fid = noisy.compute_metrics(noisy.results)['FID']
    # (random-weight classifier: small feature scale, so compare relatively)
    assert noisy_fid > 1e-6 and noisy_fid > 1e6 * abs(res['FID'])
    # a cache written for another extractor / reference set is not reused
    other = _on_classifier(clf, tmp_path / 'real.npz', img_size=8)
    assert other.real_features().shape[0] == len(ds)
    with np.load(tmp_path / 'real.npz') as data:
        assert '"img_size": 8' in str(data['tag'])
