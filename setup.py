import os.path as osp
import re
from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def readme():
    with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
        return f.read()


def version():
    scope = {}
    with open(osp.join(HERE, 'mmkd_ext/version.py'), encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def parse_requirements(fname='requirements/runtime.txt', with_version=True):
    """The requirements of a pip requirements file, as OpenMMLab's setup.py files
    parse them (mmdet, mmpretrain, mmrazor): comments and blank lines dropped,
    ``-r other.txt`` followed, ``name op version`` and ``; marker`` kept (with
    ``with_version=False`` only the names).

    Returns:
        list[str]: e.g. ``['mmengine==0.10.7', 'timm', ...]``.
    """
    path = osp.join(HERE, fname)
    items = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                other = osp.join(osp.dirname(fname), line[3:].strip())
                items += parse_requirements(other, with_version)
                continue
            if not with_version:
                line = re.split(r'[<>=!~;\[ ]', line, maxsplit=1)[0]
            items.append(line)
    return items


setup(
    name='mmkd_ext',
    version=version(),
    description='VKD and NCKD knowledge distillation components for OpenMMLab '
    '(MMRazor / MMDetection / MMPretrain)',
    long_description=readme(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.9',
    license='Apache License 2.0',
    # torch and mmcv are not listed (as in OpenMMLab's packages): both are built for
    # the machine's CUDA; `make install` (tools/install_stack.sh) installs them
    install_requires=parse_requirements('requirements/runtime.txt'),
    extras_require={
        'tests': parse_requirements('requirements/tests.txt'),
        'lint': parse_requirements('requirements/lint.txt'),
    },
    zip_safe=False,
)
