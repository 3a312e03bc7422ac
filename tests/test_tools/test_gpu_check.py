"""tools/benchmark/gpu_check.sh end to end on the CPU path (as on a GPU machine: no
OpenMMLab import allowed), and the pure-torch loader it relies on."""
import json
import os
import os.path as osp
import subprocess
import sys

import torch


def _run(repo_root, *args, timeout=120):
    env = dict(os.environ, PYTHON=sys.executable, OMP_NUM_THREADS='1')
    env.pop('PYTHONPATH', None)
    return subprocess.run(
        ['bash', osp.join(repo_root, 'tools/benchmark/gpu_check.sh'), *args],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout)


def test_gpu_check_runs_end_to_end_on_cpu(repo_root, tmp_path):
    proc = _run(repo_root, '--device', 'cpu', '--quick', '--out', str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert res['device'] == 'cpu' and res['threads'] == 1 and res['clock'] == 'cpu'
    # P1 ratios at the two quick shapes, P5 ratios of both methods, the loss
    assert set(res['projector_vs_linear']) == {'32x192x3024', '256x192x3024'}
    assert all(r > 0 for r in res['projector_vs_linear'].values())
    for m in ('cholesky', 'zca'):
        assert res['whitening_vs_floor'][f'{m}/batch_whiten'] > 0
        assert res['whitening_rel_err'][f'{m}/batch_whiten'] < 1e-4
    assert set(res['vkd_loss_vs_bare']) == {'32x3024', '256x3024'}
    tests = (tmp_path / 'pytest.txt').read_text()
    assert ' passed' in tests and 'failed' not in tests and 'error' not in tests
    assert 'P1: orthogonal projector' in proc.stdout and '== gpu_check: OK' in proc.stdout


def test_gpu_check_refuses_bad_arguments(repo_root, tmp_path):
    proc = _run(repo_root, '--device', 'tpu', '--out', str(tmp_path))
    assert proc.returncode == 2 and "--device must be cuda or cpu, got 'tpu'" in \
        proc.stderr
    proc = _run(repo_root, '--bogus')
    assert proc.returncode == 2 and "unknown argument '--bogus'" in proc.stderr
    if not torch.cuda.is_available():
        proc = _run(repo_root, '--device', 'cuda', '--out', str(tmp_path))
        assert proc.returncode == 2 and 'torch.cuda.is_available() is False' in \
            proc.stderr


def test_pure_torch_modules_import_without_openmmlab(repo_root):
    # a fresh interpreter, OpenMMLab blocked: every pure module imports, and a blocked
    # import fails the way a missing package does
    code = ('import sys; sys.path.insert(0, "tools/benchmark"); import pure_torch; '
            'mods = [pure_torch.load(m) for m in pure_torch.MODULES]; '
            'bad = [m for m in sys.modules if m.split(".")[0] in pure_torch.OPENMMLAB]; '
            'assert not bad, bad\n'
            'try:\n    import mmengine\nexcept ModuleNotFoundError as e:\n'
            '    print("blocked:", e.name)\n')
    proc = subprocess.run([sys.executable, '-c', code],
                          cwd=repo_root,
                          capture_output=True,
                          text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'blocked: mmengine' in proc.stdout
