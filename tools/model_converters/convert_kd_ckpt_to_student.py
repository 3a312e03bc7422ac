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
import sys
from collections import OrderedDict

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmkd_ext.compat import safe_torch_load  # noqa: E402


def convert_kd_state_dict(state_dict, prefix='architecture.'):
    """Keep the student's entries of a distillation state dict, prefix stripped.

    Raises:
        KeyError: no key starts with ``prefix`` (not a distillation checkpoint).
    """
    student = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                          if k.startswith(prefix))
    if not student:
        heads = sorted({k.split('.', 1)[0] for k in state_dict})
        raise KeyError(
            f'no parameter starts with "{prefix}": this is not a distillation '
            f'checkpoint of an MMRazor algorithm (top-level names: {heads}). '
            'Use --prefix for another layout.')
    return student


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
    ckpt = safe_torch_load(src, key_hint='src')
    state_dict = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state_dict, dict):
        raise TypeError(f'src: "{src}" holds no state dict')
    out = dict(
        state_dict=convert_kd_state_dict(state_dict, prefix),
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
        '--prefix', default='architecture.',
        help='state-dict prefix of the student (default: architecture.)')
    args = parser.parse_args(argv)
    out = convert(args.src, args.dst, args.prefix)
    print(f'saved {len(out["state_dict"])} student tensors to {args.dst}')


if __name__ == '__main__':
    main()
