import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                              safe_torch_load)


def test_mmrazor_imports_after_mmkd_ext():
    code = ('import mmkd_ext, mmrazor.models, mmrazor.engine; '
            'from mmrazor.registry import MODELS; '
            'assert MODELS.get("SingleTeacherDistill") is not None')
    subprocess.run([sys.executable, '-c', code], check=True, timeout=300)


def test_mmengine_checkpoint_types_load_with_weights_only(tmp_path):
    from mmengine.logging import HistoryBuffer
    buf = HistoryBuffer()
    buf.update(1.5)
    ckpt = dict(
        state_dict={'w': torch.ones(2)},
        message_hub=dict(log_scalars={'train/loss': buf}),
        meta=dict(
            seed=np.int64(3), arr=np.arange(3, dtype=np.float32), dt=np.dtype('float64')))
    path = tmp_path / 'ok.pth'
    torch.save(ckpt, path)
    # the plain torch default (weights_only=True) now accepts it
    loaded = torch.load(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == 1.5
    assert safe_torch_load(str(path))['meta']['seed'] == 3


class _Exploit:
    """Pickles into a call of os.system that would create a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _write_malicious(path, marker):
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'x': _Exploit(marker)}, path)


def test_malicious_checkpoint_is_refused_and_not_executed(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    _write_malicious(str(path), marker)
    with pytest.raises(UnsafeCheckpointError, match='refused to load'):
        safe_torch_load(str(path), key_hint='model.teacher_ckpt')
    from mmengine.runner import load_checkpoint
    with pytest.raises(UnsafeCheckpointError, match='Nothing from the file'):
        load_checkpoint(torch.nn.Linear(1, 1), str(path))
    assert not marker.exists()


def test_missing_and_corrupted_files(tmp_path):
    with pytest.raises(CheckpointError, match='model.teacher_ckpt'):
        safe_torch_load(str(tmp_path / 'nope.pth'), key_hint='model.teacher_ckpt')
    bad = tmp_path / 'bad.pth'
    torch.save({'w': torch.zeros(1000)}, bad)
    data = bad.read_bytes()
    bad.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='not a readable torch checkpoint'):
        safe_torch_load(str(bad))


# -- bad inputs (docs/bad_inputs.md): MMEngine's checkpoint loader, as patched here -----
@pytest.mark.parametrize('kind', ['truncated', 'garbage', 'empty'])
def test_b28_corrupted_checkpoint_loader(digits_teacher_files, kind, raises):
    """B28, ``load_from`` / ``--resume`` (``model.teacher_ckpt``:
    tests/test_models/test_distillers/test_strict_teacher_distill.py)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    path = digits_teacher_files[kind]
    raises(CheckpointError, lambda: CheckpointLoader.load_checkpoint(path, 'cpu'), path,
           'not a readable torch checkpoint')


def test_b29_load_from_missing(tmp_path, raises):
    from mmengine.runner.checkpoint import CheckpointLoader
    path = str(tmp_path / 'epoch_3.pth')
    raises(CheckpointError, lambda: CheckpointLoader.load_checkpoint(path, 'cpu'), path,
           'does not exist')
