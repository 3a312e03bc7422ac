"""Datasets for the data-limited GAN (scope ``mmkd_ext``).

Real-image datasets return ``dict(inputs=(3, H, W) uint8 tensor, data_samples=label)``
(use ``collate_fn=dict(type='default_collate')``; the GAN's data preprocessor maps
pixels to [-1, 1]). Data-limited subsets: a random (not class-balanced) subset of
``round(subset_ratio * len)`` images (:func:`.subset.seeded_subset`; gan.md: 10% of
CIFAR-10 = 5000 images).

* :class:`CIFARGANDataset`: the standard python-pickle folders
  (``cifar-10-batches-py``: ``data_batch_1..5`` / ``test_batch``;
  ``cifar-100-python``: ``train`` / ``test``), read by
  :func:`.cifar_pickle.read_cifar_pickle` (numpy arrays only: no code runs).
* :class:`DigitsGANDataset`: scikit-learn's digits (same split and subset as
  ``mmpretrain.DigitsDataset``).
* :class:`GANNoiseDataset`: fixed ``(noise, label)`` pairs to evaluate a generator on a
  configurable number of samples (labels cycle through the classes: balanced).
"""
import os.path as osp
from typing import Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from mmkd_ext.registry import DATASETS
from .cifar_pickle import read_cifar_pickle
from .subset import check_subset_ratio, seeded_subset

_CIFAR = {
    'cifar10':
    dict(
        folder='cifar-10-batches-py',
        train=[f'data_batch_{i}' for i in range(1, 6)],
        test=['test_batch'],
        label_key='labels',
        num_classes=10),
    'cifar100':
    dict(
        folder='cifar-100-python',
        train=['train'],
        test=['test'],
        label_key='fine_labels',
        num_classes=100),
}


class _ImageArrayDataset(Dataset):
    """Holds ``images (N, 3, H, W) uint8`` and ``labels (N,)`` tensors."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, classes):
        self.images = torch.from_numpy(np.ascontiguousarray(images))
        self.labels = torch.from_numpy(np.asarray(labels, dtype=np.int64))
        self.metainfo = dict(classes=tuple(classes))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return dict(inputs=self.images[i], data_samples=self.labels[i])


@DATASETS.register_module()
class CIFARGANDataset(_ImageArrayDataset):
    """CIFAR-10 / CIFAR-100 from the python-pickle folder.

    Args:
        data_root (str): the ``cifar-10-batches-py`` / ``cifar-100-python`` folder or
            its parent.
        variant (str): ``'cifar10'`` or ``'cifar100'``.
        split (str): ``'train'`` (50000) or ``'test'`` (10000).
        subset_ratio (float, optional) / subset_seed (int): data-limited subset.
    """

    def __init__(self,
                 data_root: str,
                 variant: str = 'cifar10',
                 split: str = 'train',
                 subset_ratio: Optional[float] = None,
                 subset_seed: int = 0):
        if variant not in _CIFAR:
            raise ValueError(f'dataset.variant must be one of {sorted(_CIFAR)}, '
                             f'got {variant!r}')
        if split not in ('train', 'test'):
            raise ValueError(f"dataset.split must be 'train' or 'test', got {split!r}")
        spec = _CIFAR[variant]
        root = osp.expanduser(str(data_root))
        if osp.isdir(osp.join(root, spec['folder'])):
            root = osp.join(root, spec['folder'])
        if not osp.isdir(root):
            raise FileNotFoundError(
                f'dataset.data_root: folder "{data_root}" does not exist (expected '
                f'the extracted "{spec["folder"]}" folder or its parent)')
        images, labels = [], []
        for name in spec[split]:
            path = osp.join(root, name)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'dataset.data_root: "{path}" is missing ({variant} {split} split '
                    f'needs {spec[split]} in "{root}")')
            batch_images, batch_labels = read_cifar_pickle(path, spec['label_key'],
                                                           'dataset.data_root')
            images.append(batch_images)
            labels.append(batch_labels)
        images, labels = np.concatenate(images), np.concatenate(labels)
        idx = seeded_subset(
            np.arange(len(labels)), subset_ratio, subset_seed, 'dataset.subset_ratio')
        super().__init__(images[idx], labels[idx],
                         [str(i) for i in range(spec['num_classes'])])


@DATASETS.register_module()
class DigitsGANDataset(_ImageArrayDataset):
    """scikit-learn digits as GAN data (same split / subset as ``DigitsDataset``).

    Args: ``split`` ('train' 1437 / 'test' 360 / 'all'), ``img_size`` (default 32),
    ``subset_ratio``, ``subset_seed``, ``test_ratio``, ``split_seed``.
    """

    def __init__(self,
                 split: str = 'train',
                 img_size: int = 32,
                 subset_ratio: Optional[float] = None,
                 subset_seed: int = 0,
                 test_ratio: float = 0.2,
                 split_seed: int = 0):
        from .digits import DIGITS_CLASSES, digits_split_indices, load_digits_arrays
        check_subset_ratio(subset_ratio, 'dataset.subset_ratio')
        imgs, labels = load_digits_arrays(img_size)
        idx = seeded_subset(
            digits_split_indices(split, test_ratio, split_seed), subset_ratio,
            subset_seed, 'dataset.subset_ratio')
        super().__init__(imgs[idx].transpose(0, 3, 1, 2), labels[idx], DIGITS_CLASSES)


@DATASETS.register_module()
class GANNoiseDataset(Dataset):
    """``num_samples`` fixed ``dict(noise=(z_dim,), label=int)`` items (seeded).

    Labels are ``i % num_classes`` (class-balanced); noise is N(0, I) from ``seed``.
    """

    def __init__(self,
                 num_samples: int,
                 num_classes: int,
                 z_dim: int = 128,
                 seed: int = 0):
        for key, val in (('num_samples', num_samples), ('num_classes', num_classes),
                         ('z_dim', z_dim)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f'dataset.{key} must be an int >= 1, got {val!r}')
        gen = torch.Generator().manual_seed(seed)
        self.noise = torch.randn(num_samples, z_dim, generator=gen)
        self.labels = torch.arange(num_samples) % num_classes
        self.metainfo = dict(classes=tuple(str(i) for i in range(num_classes)))

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return dict(noise=self.noise[i], label=self.labels[i])
