"""mmkd_ext: VKD and NCKD knowledge distillation for OpenMMLab.

Importing the package applies :mod:`mmkd_ext.compat` (before MMRazor is imported) and
registers every component into the MMRazor / MMDet / MMPretrain / MMEngine registries,
so ``custom_imports=dict(imports=['mmkd_ext'])`` in a config is all a runner needs.
"""
from . import compat

compat.apply()

from .utils import register_all_modules  # noqa: E402
from .version import __version__  # noqa: E402

register_all_modules()

__all__ = ['__version__', 'compat', 'register_all_modules']
