"""Teacher prototypes for NCKD's file-mode PrototypeBank: per-class means of the
teacher's penultimate features over a dataset split.

    python tools/analysis_tools/extract_prototypes.py CONFIG CHECKPOINT --out protos.pth \
        [--model-key teacher] [--split train] [--pipeline test] [--batch-size 64]

CONFIG is the teacher's classification config, or a distillation config with
``--model-key teacher`` (weights under ``teacher.`` in CHECKPOINT are picked up). The
features are the input of ``--classifier-layer`` (default ``head.fc``), i.e. the neck
output. The file holds ``prototypes`` (C, d) float32, ``counts`` (C,) and ``meta``;
use it as the NCKD distiller's bank, ``model.distiller.bank = dict(mode='file',
path=..., num_classes=C, feat_dim=d)``. It loads with ``weights_only=True``.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction

import mmkd_ext  # noqa: F401
from mmkd_ext.evaluation.nc_analysis import (build_loader, collect_features,
                                             load_classifier)
from mmkd_ext.models.utils.neural_collapse import class_means


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Extract teacher class prototypes')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--out', required=True, help='output .pth file')
    p.add_argument(
        '--model-key',
        default=None,
        help="sub-config of cfg.model to use, e.g. 'teacher'")
    p.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    p.add_argument(
        '--pipeline',
        default='test',
        choices=['test', 'dataset'],
        help="'test': the test pipeline (no augmentation); 'dataset': "
        "the split's own pipeline")
    p.add_argument('--classifier-layer', default='head.fc')
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file "{args.config}" does not exist')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = load_classifier(cfg, args.checkpoint, args.model_key, args.device)
    loader = build_loader(cfg, args.split, args.pipeline, args.batch_size)
    out = collect_features(model, loader, args.classifier_layer)
    num_classes = out['weight'].shape[0]
    means, counts = class_means(out['feats'].double(), out['labels'], num_classes)
    missing = (counts == 0).nonzero()[:, 0].tolist()
    if missing:
        print(f'\nwarning: classes without samples (zero prototypes): {missing}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(
        dict(
            prototypes=means.float(),
            counts=counts.float(),
            meta=dict(
                config=args.config,
                checkpoint=args.checkpoint,
                split=args.split,
                pipeline=args.pipeline,
                model_key=args.model_key or 'model',
                classifier_layer=args.classifier_layer,
                num_samples=int(counts.sum()))), args.out)
    print(f'\nsaved prototypes {tuple(means.shape)} from {int(counts.sum())} samples '
          f'to {args.out}')


if __name__ == '__main__':
    main()
