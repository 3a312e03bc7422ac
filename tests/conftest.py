"""Shared helpers for the test suite (fixtures only; every test file is standalone)."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _run_tool(script, *args, timeout=900, check=True):
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='2')
    proc = subprocess.run([sys.executable, osp.join(REPO, script), *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f'{script} {" ".join(map(str, args))} failed '
                             f'(exit {proc.returncode}):\n{proc.stdout[-4000:]}\n'
                             f'{proc.stderr[-6000:]}')
    return proc


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def run_tool():
    """``run_tool('tools/train.py', cfg, '--work-dir', d, ...)`` in a subprocess
    from the repository root; raises with the tool's output when it fails."""
    return _run_tool


def read_scalars(work_dir):
    """All records of the newest ``vis_data/scalars.json`` under ``work_dir``."""
    found = []
    for root, _, files in os.walk(work_dir):
        if 'scalars.json' in files and root.endswith('vis_data'):
            found.append(osp.join(root, 'scalars.json'))
    if not found:
        raise FileNotFoundError(f'no vis_data/scalars.json under {work_dir}')
    path = max(found, key=osp.getmtime)
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope='session')
def scalars():
    return read_scalars
