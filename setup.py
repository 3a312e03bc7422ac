from setuptools import find_packages, setup


def readme():
    with open('README.md', encoding='utf-8') as f:
        return f.read()


def version():
    scope = {}
    with open('mmkd_ext/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


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
    zip_safe=False,
)
