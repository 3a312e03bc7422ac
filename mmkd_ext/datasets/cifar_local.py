"""CIFAR-100 from local python-pickle files, without MMPretrain's MD5 check.

MMPretrain's ``CIFAR100`` accepts only the official files (MD5 of each pickle) and
otherwise tries to download them. ``LocalCIFAR100`` reads the same layout
(``<data_root>/cifar-100-python/{train,test}``: dicts with ``data`` (N, 3072) uint8 and
``fine_labels``) from any local copy: a subset, a re-packed file, or small files that a
test writes. It never downloads; missing files and malformed contents raise errors that
name the file. The CIFAR-100 configs use MMPretrain's ``CIFAR100`` (checked official
files); switch with ``train_dataloader.dataset.type=mmpretrain.LocalCIFAR100``.
"""
import os.path as osp

import numpy as np
from mmpretrain.datasets import CIFAR100
from mmpretrain.registry import DATASETS

from .cifar_pickle import read_cifar_pickle
from .non_empty import NonEmptyDatasetMixin


@DATASETS.register_module()
class LocalCIFAR100(NonEmptyDatasetMixin, CIFAR100):
    """:class:`mmpretrain.datasets.CIFAR100` reading unverified local files."""
    train_list = [['train', None]]
    test_list = [['test', None]]
    meta = {'filename': 'meta', 'key': 'fine_label_names', 'md5': None}

    def __init__(self, data_root='', split='train', **kwargs):
        kwargs['download'] = False
        super().__init__(data_root=data_root, split=split, **kwargs)

    def load_data_list(self):
        root = self.data_prefix['root']
        files = self.train_list if self.split == 'train' else self.test_list
        imgs, labels = [], []
        for name, _ in files:
            path = osp.join(root, self.base_folder, name)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'LocalCIFAR100: "{path}" does not exist (expected the CIFAR-100 '
                    f'python pickle "{name}" under data_root/{self.base_folder}).')
            data, fine_labels = read_cifar_pickle(path, 'fine_labels', 'LocalCIFAR100')
            imgs.append(data.transpose(0, 2, 3, 1))
            labels.extend(int(x) for x in fine_labels)
        if min(labels) < 0 or max(labels) >= 100:
            raise ValueError(f'LocalCIFAR100: labels must lie in 0..99, got '
                             f'{min(labels)}..{max(labels)}.')
        imgs = np.concatenate(imgs)
        return [dict(img=img, gt_label=lab) for img, lab in zip(imgs, labels)]
