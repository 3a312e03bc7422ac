"""Turn an MMRazor distillation checkpoint into a plain student checkpoint.

A ``SingleTeacherDistill`` checkpoint stores the student under ``architecture.*`` next
to ``teacher.*``, ``distiller.*`` (connectors) and MMEngine's training state. MMPretrain's
and MMDetection's own tools want the student's parameters under their own names::

    python tools/model_converters/convert_kd_ckpt_to_student.py \
        work_dirs/kd/epoch_20.pth work_dirs/kd/student_epoch_20.pth

The output holds ``state_dict`` (student only, ``architecture.`` stripped) and a
``meta`` with plain types only (so it also loads with ``weights_only=True`` where
mmkd_ext is not installed); optimizer, message hub, teacher and connectors are dropped.
"""
import argparse
import os
import os.path as osp

import torch

from mmkd_ext.models.utils.checkpoint import (CheckpointError, read_checkpoint,
                                              select_prefix, unwrap_state_dict)


def convert_kd_state_dict(state_dict, prefix='architecture.', filename=''):
    """Keep the student's entries of a distillation state dict, prefix stripped.

    Raises:
        CheckpointError: no key starts with ``prefix`` (not a distillation checkpoint).
    """
    try:
        return select_prefix(state_dict, prefix, 'src', filename)
    except CheckpointError as err:
        raise CheckpointError(
            f'{err}: this is not a distillation checkpoint of an MMRazor algorithm. '
            'Use --prefix for another layout.') from None


def _plain_meta(meta):
    keep = {}
    for key in ('epoch', 'iter', 'seed', 'experiment_name', 'mmengine_version'):
        if isinstance(meta.get(key), (int, str, float)):
            keep[key] = meta[key]
    dataset_meta = meta.get('dataset_meta')
    if isinstance(dataset_meta, dict):
        keep['dataset_meta'] = {
            k: (list(v) if isinstance(v, tuple) else v)
            for k, v in dataset_meta.items()
            if isinstance(v, (str, int, float, list, tuple))
        }
    return keep


def convert(src, dst, prefix='architecture.'):
    ckpt = read_checkpoint(src, key_hint='src')
    state_dict = unwrap_state_dict(ckpt, 'src', src, keys=('state_dict', ))
    out = dict(
        state_dict=convert_kd_state_dict(state_dict, prefix, src),
        meta=_plain_meta(ckpt.get('meta', {}) or {}))
    out['meta']['converted_from'] = osp.basename(src)
    dst_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(dst_dir, exist_ok=True)
    tmp = dst + '.tmp'
    torch.save(out, tmp)
    os.replace(tmp, dst)  # no half-written file if interrupted
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Extract the student of a distillation checkpoint')
    parser.add_argument('src', help='distillation checkpoint (.pth)')
    parser.add_argument('dst', help='output student checkpoint (.pth)')
    parser.add_argument(
        '--prefix',
        default='architecture.',
        help='state-dict prefix of the student (default: architecture.)')
    args = parser.parse_args(argv)
    out = convert(args.src, args.dst, args.prefix)
    print(f'saved {len(out["state_dict"])} student tensors to {args.dst}')


if __name__ == '__main__':
    main()
