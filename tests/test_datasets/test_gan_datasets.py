"""CIFAR python-pickle folders (generated here), digits GAN data, noise dataset."""
import os
import pickle

import numpy as np
import pytest
import torch

from mmkd_ext.datasets import (CIFARGANDataset, DigitsDataset, DigitsGANDataset,
                               GANNoiseDataset)


def write_cifar(root, variant='cifar10', per_file=40):
    rng = np.random.default_rng(0)
    if variant == 'cifar10':
        folder, files, key = 'cifar-10-batches-py', [
            f'data_batch_{i}' for i in range(1, 6)
        ] + ['test_batch'], b'labels'
    else:
        folder, files, key = 'cifar-100-python', ['train', 'test'], b'fine_labels'
    os.makedirs(root / folder)
    for name in files:
        n = per_file if variant == 'cifar10' or name == 'test' else 5 * per_file
        entry = {
            b'data': rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            key:
            [int(v) for v in rng.integers(0, 10 if variant == 'cifar10' else 100, n)]
        }
        with open(root / folder / name, 'wb') as f:
            pickle.dump(entry, f, protocol=2)
    return root / folder


def test_cifar10_subset_and_format(tmp_path):
    folder = write_cifar(tmp_path)
    full = CIFARGANDataset(str(tmp_path), 'cifar10', 'train')
    assert len(full) == 200
    item = full[3]
    assert item['inputs'].shape == (3, 32, 32) and item['inputs'].dtype == torch.uint8
    with open(folder / 'data_batch_1', 'rb') as f:
        raw = pickle.load(f, encoding='bytes')
    assert torch.equal(item['inputs'].flatten(), torch.from_numpy(raw[b'data'][3]))
    assert int(item['data_samples']) == raw[b'labels'][3]
    sub = CIFARGANDataset(
        str(folder), 'cifar10', 'train', subset_ratio=0.1, subset_seed=1)
    again = CIFARGANDataset(
        str(folder), 'cifar10', 'train', subset_ratio=0.1, subset_seed=1)
    other = CIFARGANDataset(
        str(folder), 'cifar10', 'train', subset_ratio=0.1, subset_seed=2)
    assert len(sub) == 20 and torch.equal(sub.images, again.images)
    assert not torch.equal(sub.images, other.images)
    assert len(CIFARGANDataset(str(tmp_path), split='test')) == 40


def test_cifar100(tmp_path):
    write_cifar(tmp_path, 'cifar100')
    ds = CIFARGANDataset(str(tmp_path), 'cifar100', 'train', subset_ratio=0.2)
    assert len(ds) == 40 and len(ds.metainfo['classes']) == 100


def test_cifar_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='data_root'):
        CIFARGANDataset(str(tmp_path / 'missing'))
    folder = write_cifar(tmp_path)
    os.remove(folder / 'data_batch_3')
    with pytest.raises(FileNotFoundError, match='data_batch_3'):
        CIFARGANDataset(str(tmp_path))
    with pytest.raises(ValueError, match='subset_ratio'):
        CIFARGANDataset(str(tmp_path), split='test', subset_ratio=1.5)
    with pytest.raises(ValueError, match='variant'):
        CIFARGANDataset(str(tmp_path), variant='cifar1000')
    with pytest.raises(FileNotFoundError, match='cifar-100-python'):
        CIFARGANDataset(str(tmp_path / 'nothing'), variant='cifar100')


def test_malicious_pickle_refused(tmp_path):
    folder = write_cifar(tmp_path)

    class Evil:

        def __reduce__(self):
            return (os.system, ('echo pwned', ))

    with open(folder / 'test_batch', 'wb') as f:
        pickle.dump({b'data': Evil()}, f)
    with pytest.raises(ValueError, match='refused global'):
        CIFARGANDataset(str(tmp_path), split='test')


def test_digits_gan_matches_digits_dataset():
    gan = DigitsGANDataset(split='train', subset_ratio=0.1, subset_seed=0)
    cls = DigitsDataset(split='train', subset_ratio=0.1, subset_seed=0)
    assert len(gan) == len(cls) == 144
    for i in (0, 77, 143):
        assert np.array_equal(gan[i]['inputs'].permute(1, 2, 0).numpy(),
                              cls.get_data_info(i)['img'])
        assert int(gan[i]['data_samples']) == cls.get_data_info(i)['gt_label']


def test_noise_dataset():
    a, b = GANNoiseDataset(25, 10, 8, seed=1), GANNoiseDataset(25, 10, 8, seed=1)
    assert len(a) == 25 and torch.equal(a.noise, b.noise)
    assert a[13]['label'] == 3 and a[13]['noise'].shape == (8, )
    assert torch.bincount(a.labels).tolist() == [3] * 5 + [2] * 5


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b33_cifar_files_missing(tmp_path, raises):
    """B33, CIFARGANDataset (LocalCIFAR100: test_cifar_local.py)."""
    raises(FileNotFoundError, lambda: CIFARGANDataset(str(tmp_path / 'nope')),
           'dataset.data_root', 'nope', 'cifar-10-batches-py')
