"""LocalCIFAR100 reads CIFAR-100 python pickles without the MD5 check, with clear
errors on missing or malformed files."""
import os.path as osp
import pickle

import numpy as np
import pytest
from mmpretrain.registry import DATASETS

import mmkd_ext  # noqa: F401


def write(root, split, data, labels):
    folder = root / 'cifar-100-python'
    folder.mkdir(exist_ok=True)
    with open(folder / split, 'wb') as f:
        pickle.dump(dict(data=data, fine_labels=labels), f)


def test_reads_images_and_labels(tmp_path):
    data = np.arange(2 * 3072, dtype=np.int64).reshape(2, 3072) % 256
    write(tmp_path, 'test', data.astype(np.uint8), [5, 99])
    ds = DATASETS.build(dict(type='LocalCIFAR100', data_root=str(tmp_path), split='test'))
    assert len(ds) == 2 and ds.get_gt_labels().tolist() == [5, 99]
    img = ds.get_data_info(1)['img']
    assert img.shape == (32, 32, 3)
    # CIFAR stores planes (R, G, B) of 32x32 row-major: pixel (0, 1) of G
    assert img[0, 1, 1] == data[1, 1024 + 1] % 256
    assert len(ds.metainfo['classes']) == 100


def test_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='cifar-100-python/train'):
        DATASETS.build(
            dict(type='LocalCIFAR100', data_root=str(tmp_path),
                 split='train')).full_init()
    write(tmp_path, 'train', np.zeros((2, 100), np.uint8), [1, 2])
    with pytest.raises(ValueError, match=r'\(N, 3072\)'):
        DATASETS.build(
            dict(type='LocalCIFAR100', data_root=str(tmp_path),
                 split='train')).full_init()
    write(tmp_path, 'train', np.zeros((2, 3072), np.uint8), [1, 100])
    with pytest.raises(ValueError, match='0..99'):
        DATASETS.build(
            dict(type='LocalCIFAR100', data_root=str(tmp_path),
                 split='train')).full_init()


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b33_cifar_files_missing(tmp_path, raises):
    """B33, LocalCIFAR100 (CIFARGANDataset: test_gan_datasets.py)."""
    raises(
        FileNotFoundError, lambda: DATASETS.build(
            dict(type='mmpretrain.LocalCIFAR100', data_root=str(tmp_path), split='train')
        ), osp.join('cifar-100-python', 'train'), 'does not exist')
