from .digits import (DIGITS_CLASSES, DigitsDataset, digits_split_indices,
                     load_digits_arrays)
from .gan_datasets import CIFARGANDataset, DigitsGANDataset, GANNoiseDataset

__all__ = [
    'DigitsDataset', 'DIGITS_CLASSES', 'load_digits_arrays',
    'digits_split_indices', 'CIFARGANDataset', 'DigitsGANDataset',
    'GANNoiseDataset'
]
from .cifar_local import LocalCIFAR100  # noqa: F401
