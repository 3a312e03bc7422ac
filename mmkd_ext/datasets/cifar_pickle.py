"""The CIFAR python-pickle reader shared by :class:`LocalCIFAR100` and
:class:`CIFARGANDataset`.

A CIFAR batch file (``cifar-10-batches-py/data_batch_1``, ``cifar-100-python/train``,
...) is a pickled dict with ``data`` (N, 3072) uint8 (R, G, B planes of 32 x 32) and a
label list (``labels`` for CIFAR-10, ``fine_labels`` for CIFAR-100). Pickles can run
code, so the file is read by an unpickler that only accepts numpy arrays, lists and
strings; anything else is refused before it is constructed.
"""
import pickle

import numpy as np

__all__ = ['read_cifar_pickle']

_SAFE_PICKLE_GLOBALS = {
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', 'scalar'),
    ('numpy', 'ndarray'),
    ('numpy', 'dtype'),
    ('_codecs', 'encode'),
}


class _ArrayUnpickler(pickle.Unpickler):

    def find_class(self, module, name):
        if (module, name) not in _SAFE_PICKLE_GLOBALS:
            raise pickle.UnpicklingError(
                f'refused global {module}.{name}: CIFAR batches only hold numpy '
                'arrays, lists and strings')
        return super().find_class(module, name)


def read_cifar_pickle(path: str, label_key: str, key_hint: str):
    """Images and labels of one CIFAR python batch file.

    Args:
        path (str): the batch file (must exist).
        label_key (str): ``'labels'`` (CIFAR-10) or ``'fine_labels'`` (CIFAR-100).
        key_hint (str): the config key / class named in errors.

    Returns:
        tuple: ``images`` (N, 3, 32, 32) uint8 and ``labels`` (N,) int64 arrays.

    Raises:
        ValueError: not a pickle, a refused global, or ``data`` not (N, 3072) with N
            labels.
        KeyError: no ``data`` / ``label_key`` entry.
    """
    with open(path, 'rb') as f:
        try:  # bytes: the official files are Python 2 pickles
            entry = _ArrayUnpickler(f, encoding='bytes').load()
        except Exception as err:
            raise ValueError(f'{key_hint}: refused to read "{path}" (not a CIFAR python '
                             f'pickle): {err}') from None
    if isinstance(entry, dict):
        entry = {
            (k.decode('latin1') if isinstance(k, bytes) else k): v
            for k, v in entry.items()
        }
    if not isinstance(entry, dict) or 'data' not in entry or label_key not in entry:
        raise KeyError(f'{key_hint}: "{path}" must hold a dict with "data" and '
                       f'"{label_key}" (the CIFAR python format; is the variant right?)')
    data = np.asarray(entry['data'], dtype=np.uint8)
    labels = np.asarray(entry[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or labels.shape != (data.shape[0], ):
        raise ValueError(f'{key_hint}: "{path}": "data" must be (N, 3072) with N '
                         f'labels, got {data.shape} and {labels.shape[0]} labels.')
    return data.reshape(-1, 3, 32, 32), labels
