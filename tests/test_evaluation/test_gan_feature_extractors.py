"""Feature extractors of the generative metrics: images quantised as ``save_image``
does; the FID Inception weights: missing, not downloadable, torchvision's ImageNet
Inception, truncated files give clear errors naming ``feature_extractor.weights``."""
import pytest
import torch

from mmkd_ext.evaluation import GenerativeMetric, InceptionV3FeatureExtractor
from mmkd_ext.evaluation import gan_feature_extractors as gfe
from mmkd_ext.models.utils.checkpoint import CheckpointError


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


def test_fid_inception_weight_errors(tmp_path, fid_setup, offline_downloads):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(CheckpointError, match='feature_extractor.weights'):
        InceptionV3FeatureExtractor(weights=missing)
    with pytest.raises(CheckpointError, match='feature_extractor.weights'):
        GenerativeMetric(
            feature_extractor=dict(type='InceptionV3FeatureExtractor', weights=missing),
            real_dataset=dict(type='DigitsGANDataset', split='test'))
    # weights=None: torch-fidelity's download; here it cannot succeed (the proxy is a
    # closed loopback port) and the error says what to set
    offline_downloads(tmp_path / 'hub')
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


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b38_gan_metric_weights_not_set(tmp_path, offline_downloads, raises):
    # weights=None: torch-fidelity's download, which fails (the proxy is a closed port)
    offline_downloads(tmp_path)
    raises(CheckpointError, lambda: gfe.InceptionV3FeatureExtractor(weights=None),
           'feature_extractor.weights', 'downloading the FID Inception weights',
           gfe.FID_INCEPTION_FILE)
