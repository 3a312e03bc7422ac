"""The embedded dataset: scikit-learn's bundled handwritten digits as an MMPretrain
classification dataset.

``sklearn.datasets.load_digits`` holds 1797 real 8x8 grey-scale scans (pixel values
0..16, 10 classes, ~180 per class), shipped inside scikit-learn, so demos and tests
need no download. Samples are RGB ``uint8`` images of ``img_size`` x ``img_size``
(bilinear upsampling of the 8x8 scan scaled to 0..255, the grey value copied to the
three channels).

Split (fixed, documented, stratified): ``sklearn.model_selection.train_test_split``
with ``test_size=0.2``, ``stratify=labels``, ``random_state=0`` gives 1437 train and
360 test images with every class in the same proportion in both splits. ``split_seed``
and ``test_ratio`` change it; keep the defaults to compare numbers with the README.
"""
from typing import List, Optional

import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS

from .non_empty import NonEmptyDatasetMixin
from .subset import check_subset_ratio, seeded_subset

DIGITS_CLASSES = tuple(str(i) for i in range(10))


def load_digits_arrays(img_size: int = 32):
    """Return ``(images, labels)``: ``(1797, img_size, img_size, 3)`` uint8 and
    ``(1797,)`` int64, in scikit-learn's order."""
    if not isinstance(img_size, int) or img_size < 8:
        raise ValueError(f'img_size must be an int >= 8, got {img_size!r}')
    import torch
    import torch.nn.functional as F
    from sklearn.datasets import load_digits
    digits = load_digits()
    imgs = torch.from_numpy(digits.images.astype(np.float32) * (255.0 / 16.0))
    if img_size != 8:
        imgs = F.interpolate(
            imgs[:, None],
            size=(img_size, img_size),
            mode='bilinear',
            align_corners=False)[:, 0]
    imgs = imgs.round().clamp(0, 255).to(torch.uint8).numpy()
    imgs = np.repeat(imgs[..., None], 3, axis=-1)
    return imgs, digits.target.astype(np.int64)


def digits_split_indices(split: str, test_ratio: float = 0.2, split_seed: int = 0):
    """Indices (into ``load_digits`` order) of the fixed stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    if split not in ('train', 'test', 'all'):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    labels = load_digits().target
    idx = np.arange(len(labels))
    if split == 'all':
        return idx
    train_idx, test_idx = train_test_split(
        idx, test_size=test_ratio, stratify=labels, random_state=split_seed)
    return np.sort(train_idx if split == 'train' else test_idx)


@DATASETS.register_module()
class DigitsDataset(NonEmptyDatasetMixin, BaseDataset):
    """Handwritten digits (scikit-learn's ``load_digits``) as an MMPretrain dataset.

    Each data info is ``dict(img=(H, W, 3) uint8 array, img_shape, ori_shape,
    gt_label=int)``, so the pipeline starts after image loading (e.g. straight with
    ``PackInputs``).

    Args:
        split (str): ``'train'`` (1437 images), ``'test'`` (360) or ``'all'`` (1797).
        img_size (int): output side length. Defaults to 32.
        test_ratio (float): fraction held out for ``'test'``. Defaults to 0.2.
        split_seed (int): seed of the stratified split. Defaults to 0.
        subset_ratio (float, optional): keep a seeded random fraction of the split
            (the data-limited settings), chosen with ``subset_seed``.
        pipeline (list): data transforms.
    """
    METAINFO = {'classes': DIGITS_CLASSES}

    def __init__(self,
                 split: str = 'train',
                 img_size: int = 32,
                 test_ratio: float = 0.2,
                 split_seed: int = 0,
                 subset_ratio: Optional[float] = None,
                 subset_seed: int = 0,
                 pipeline=(),
                 **kwargs):
        check_subset_ratio(subset_ratio)
        self.split = split
        self.img_size = img_size
        self.test_ratio = test_ratio
        self.split_seed = split_seed
        self.subset_ratio = subset_ratio
        self.subset_seed = subset_seed
        super().__init__(ann_file='', data_root='', pipeline=list(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        imgs, labels = load_digits_arrays(self.img_size)
        idx = seeded_subset(
            digits_split_indices(self.split, self.test_ratio, self.split_seed),
            self.subset_ratio, self.subset_seed)
        shape = (self.img_size, self.img_size)
        return [
            dict(img=imgs[i], img_shape=shape, ori_shape=shape, gt_label=int(labels[i]))
            for i in idx
        ]
