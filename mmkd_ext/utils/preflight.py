"""Check, before a runner is built, that the files a config reads are on disk.

``tools/train.py`` / ``tools/test.py`` call :func:`missing_inputs` on the final config
(after ``--cfg-options``). Without it, a missing COCO folder ends in a stack trace from
inside the dataset after the model (and its teacher) has been built, and a missing
teacher checkpoint in one from the model build; with it, the command stops at once with
one short message that lists every missing path by its config key and says where the
docs explain how to get it (:func:`format_missing`).

What is checked, wherever it is set:

* datasets of the dataloaders the command builds (``train_dataloader`` +
  ``val_dataloader`` to train, ``test_dataloader`` to test; also inside ``dataset`` /
  ``datasets`` wrappers): ``data_root``, and ``ann_file`` joined
  with ``data_root`` when relative (MMEngine's ``BaseDataset`` rule);
* its evaluators' ``ann_file`` (MMDet's ``CocoMetric``);
* checkpoints of the model: ``model.teacher_ckpt`` (MMRazor distillers), every
  ``checkpoint`` key under ``model`` (a ``Pretrained`` ``init_cfg``, a frozen encoder's
  file) and ``load_from``. Remote addresses (``http(s)://``, ``torchvision://``,
  ``open-mmlab://`` ...) are left to their loaders, and ``None`` means "not used".

Data a loader creates itself (the embedded digits sets) has no ``data_root`` and is not
checked.
"""
import os.path as osp
from typing import List, Tuple

# where the docs explain how to get the data / teacher of each kind of dataset
DOCS = {
    'Coco': 'docs/detection.md ("Data and checkpoints")',
    'ImageNet': 'docs/classification.md',
    'CIFAR': 'docs/classification.md',
}
# what each command reads: training builds the train and val loops, testing the test loop
STAGES = {
    'train': (('train_dataloader', 'val_dataloader'), ('val_evaluator', )),
    'test': (('test_dataloader', ), ('test_evaluator', )),
}


def _is_remote(path: str) -> bool:
    return '://' in path


def _datasets(cfg, key):
    """``(config key, dataset dict)`` of a dataloader's dataset and wrapped ones."""
    loader = cfg.get(key)
    if not isinstance(loader, dict) or not isinstance(loader.get('dataset'), dict):
        return []
    out, todo = [], [(f'{key}.dataset', loader['dataset'])]
    while todo:
        name, ds = todo.pop()
        out.append((name, ds))
        if isinstance(ds.get('dataset'), dict):
            todo.append((f'{name}.dataset', ds['dataset']))
        for i, sub in enumerate(ds.get('datasets') or []):
            if isinstance(sub, dict):
                todo.append((f'{name}.datasets.{i}', sub))
    return out


def _checkpoints(node, prefix):
    """``(key, path)`` of each string ``teacher_ckpt`` / ``checkpoint`` under ``node``."""
    if isinstance(node, dict):
        for k, v in node.items():
            key = f'{prefix}.{k}'
            if k in ('teacher_ckpt', 'checkpoint') and isinstance(v, str):
                yield key, v
            else:
                yield from _checkpoints(v, key)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _checkpoints(v, f'{prefix}.{i}')


def missing_inputs(cfg, stage: str = 'train') -> List[Tuple[str, str, str]]:
    """``[(kind, config key, path)]`` of the inputs of ``cfg`` that are not on disk
    for ``stage`` (``'train'``: train / val loops, ``'test'``: the test loop); ``kind``
    is ``'data'`` or ``'checkpoint'``. Each path is reported once."""
    loaders, evaluators_keys = STAGES[stage]
    missing, seen = [], set()

    def add(kind, key, path):
        if path and not _is_remote(path) and not osp.exists(path) and path not in seen:
            seen.add(path)
            missing.append((kind, key, path))

    for loader in loaders:
        for key, ds in _datasets(cfg, loader):
            root = ds.get('data_root') or ''
            if not isinstance(root, str):
                continue
            if root:
                add('data', f'{key}.data_root', root)
            ann = ds.get('ann_file')
            if isinstance(ann, str) and ann and (not root or osp.exists(root)):
                add('data', f'{key}.ann_file',
                    ann if osp.isabs(ann) else osp.join(root, ann))
    for ev in evaluators_keys:
        evaluators = cfg.get(ev)
        for i, e in enumerate(
                evaluators if isinstance(evaluators, list) else [evaluators]):
            if isinstance(e, dict) and isinstance(e.get('ann_file'), str):
                key = f'{ev}.{i}.ann_file' if isinstance(evaluators,
                                                         list) else f'{ev}.ann_file'
                add('data', key, e['ann_file'])
    for key, path in _checkpoints(cfg.get('model'), 'model'):
        add('checkpoint', key, path)
    if isinstance(cfg.get('load_from'), str) and not cfg.get('resume'):
        add('checkpoint', 'load_from', cfg.load_from)
    return missing


def _docs_hint(cfg) -> str:
    types = ' '.join(
        str(ds.get('type', '')) for loaders, _ in STAGES.values() for loader in loaders
        for _, ds in _datasets(cfg, loader))
    hints = sorted({doc for name, doc in DOCS.items() if name in types})
    return ', '.join(hints) or 'README.md'


def format_missing(config_path: str, cfg, missing, action: str = 'train') -> str:
    """The message ``tools/train.py`` / ``tools/test.py`` stop with."""
    width = max(len(key) for _, key, _ in missing)
    lines = [f'{config_path}: cannot {action}, {len(missing)} input(s) not found:']
    lines += [f'  {kind:<10} {key:<{width}} = {path}' for kind, key, path in missing]
    lines += [
        f'How to get the data and the teacher / pretrained checkpoints: '
        f'{_docs_hint(cfg)}.',
        'Point a key elsewhere with --cfg-options KEY=PATH (KEY=None builds that part '
        'with random weights: a smoke test, not a distillation).'
    ]
    return '\n'.join(lines)
