"""Fixtures of the evaluation tests.

* ``fid_setup``: a seeded random-weight FID Inception file in torch-fidelity's format
  (batch norms calibrated so that features vary and logits are confident), 6 real
  (a CIFAR-10 ``test_batch`` pickle) and 6 fake CIFAR-sized uint8 images, and
  torch-fidelity's own FID / IS on them (``ref``), with the sizes used
  (``n_images``, ``is_splits``, ``prdc_k``);
* ``offline_downloads(torch_home)``: for the rest of the test, torch hub downloads go
  to an empty ``torch_home`` through an HTTP(S) proxy on a closed loopback port, so
  they fail at once, with or without internet.
"""
import math
import pickle

import pytest
import torch
import torch.nn.functional as F


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


@pytest.fixture(scope='session')
def fid_setup(tmp_path_factory):
    """A random-weight FID Inception file, real (CIFAR-10 test pickle) and fake uint8
    images, and torch-fidelity's FID / IS on them (``ref``)."""
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
    return dict(
        root=root,
        weights=str(weights),
        real=real,
        fake=fake,
        ref=ref,
        n_images=N_IMAGES,
        is_splits=IS_SPLITS,
        prdc_k=PRDC_K)


@pytest.fixture
def offline_downloads(monkeypatch):

    def offline(torch_home):
        monkeypatch.setenv('TORCH_HOME', str(torch_home))
        for name in ('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'):
            monkeypatch.setenv(name, 'http://127.0.0.1:9')
        for name in ('no_proxy', 'NO_PROXY'):
            monkeypatch.delenv(name, raising=False)

    return offline
