"""Import mmkd_ext's pure-torch modules without OpenMMLab (for gpu_check.sh).

``mmkd_ext/__init__.py`` and ``mmkd_ext/models/__init__.py`` import MMEngine, MMCV and
MMRazor (registries, compat patches). The maths the hot paths run -- the orthogonal
maps (``mmkd_ext/models/utils/orthogonal.py``), whitening
(``mmkd_ext/models/utils/whitening.py``) and the loss functions
(``mmkd_ext/models/losses/functional.py``) -- import only torch. :func:`install`
registers ``mmkd_ext`` and the packages on the way to these modules as plain package
objects (their ``__path__`` set, their ``__init__.py`` not run), so
``import mmkd_ext.models.utils.whitening`` then loads just that file and what it imports
relatively. ``block=True`` also makes every OpenMMLab package unimportable, as on a
machine without them, so that a run here proves the same imports work there.

As a pytest plugin (``python -m pytest -p pure_torch --noconftest ...`` with this folder
on ``PYTHONPATH``) it installs itself before the test modules are collected
(``MMKD_PURE_TORCH_BLOCK=0`` leaves OpenMMLab importable).
"""
import importlib.abc
import os
import os.path as osp
import sys
import types

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the packages whose ``__init__`` would import OpenMMLab
PACKAGES = ('mmkd_ext', 'mmkd_ext.models', 'mmkd_ext.models.utils',
            'mmkd_ext.models.losses')
#: what a machine without OpenMMLab lacks
OPENMMLAB = ('mmcv', 'mmengine', 'mmrazor', 'mmdet', 'mmpretrain', 'mmseg', 'mmagic',
             'timm')
#: the pure-torch modules (each must import with :func:`install` and ``block=True``)
MODULES = ('mmkd_ext.models.utils.orthogonal', 'mmkd_ext.models.utils.whitening',
           'mmkd_ext.models.losses.functional')


class _Blocker(importlib.abc.MetaPathFinder):
    """Refuses the OpenMMLab packages as if they were not installed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split('.')[0] in OPENMMLAB:
            raise ModuleNotFoundError(
                f'No module named {fullname!r} (blocked by tools/benchmark/'
                'pure_torch.py: the pure-torch code must not need OpenMMLab)',
                name=fullname)
        return None


def install(block=True):
    """Register the package stubs (idempotent); ``block``: refuse OpenMMLab imports."""
    loaded = [
        m for m in PACKAGES
        if m in sys.modules and getattr(sys.modules[m], '__file__', None) is not None
    ]
    if loaded:
        raise RuntimeError(f'pure_torch.install: {loaded} already imported normally; '
                           'install the stubs in a fresh process')
    if block:
        bad = sorted(m for m in sys.modules if m.split('.')[0] in OPENMMLAB)
        if bad:
            raise RuntimeError(f'pure_torch.install(block=True): {bad[:5]} already '
                               'imported')
        if not any(isinstance(f, _Blocker) for f in sys.meta_path):
            sys.meta_path.insert(0, _Blocker())
    for name in PACKAGES:
        if name in sys.modules:
            continue
        module = types.ModuleType(name)
        module.__path__ = [osp.join(REPO, *name.split('.'))]
        module.__package__ = name
        sys.modules[name] = module
        parent, _, child = name.rpartition('.')
        if parent:
            setattr(sys.modules[parent], child, module)


def load(name):
    """``install()`` (blocking OpenMMLab) if needed, then import ``name``."""
    if 'mmkd_ext' not in sys.modules:
        install(block=True)
    return importlib.import_module(name)


def pytest_configure(config):
    """pytest plugin hook: stubs before collection."""
    if 'mmkd_ext' not in sys.modules:
        install(block=os.environ.get('MMKD_PURE_TORCH_BLOCK', '1') != '0')
