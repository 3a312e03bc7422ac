from .digits import (DIGITS_CLASSES, DigitsDataset, digits_split_indices,
                     load_digits_arrays)
from .gan_datasets import CIFARGANDataset, DigitsGANDataset, GANNoiseDataset
from .non_empty import NonEmptyDatasetMixin
from .strict_coco import StrictCocoDataset

__all__ = [
    'DigitsDataset', 'DIGITS_CLASSES', 'load_digits_arrays', 'digits_split_indices',
    'CIFARGANDataset', 'DigitsGANDataset', 'GANNoiseDataset', 'NonEmptyDatasetMixin',
    'StrictCocoDataset'
]
from .cifar_local import LocalCIFAR100  # noqa: F401
