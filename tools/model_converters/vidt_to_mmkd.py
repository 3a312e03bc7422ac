"""Convert a ViDT reference-implementation checkpoint to mmkd_ext's ``ViDT`` names.

    python tools/model_converters/vidt_to_mmkd.py vidt_nano_50.pth \
        checkpoints/vidt_swin_nano_mmkd.pth
    python tools/model_converters/vidt_to_mmkd.py --reverse epoch_50.pth vidt_ref.pth

The output (``dict(state_dict=...)``) loads with ``load_from`` / ``model.teacher_ckpt``
into ``configs/vidt/vidt_swin-nano_50e_coco.py`` (use the matching Swin size). The
91-way class branches (COCO ids) become MMDet's 80 contiguous labels; the entries the
reference never uses are dropped (listed in
``mmkd_ext.models.detectors.vidt_weights.REFERENCE_UNUSED``). Without converting, a
reference checkpoint also loads directly: ``model.init_cfg=dict(type='Pretrained',
checkpoint=...)``. ``--reverse`` writes the complete reference layout (``{'model': ...}``)
from one of our checkpoints. The conversion itself lives in
:mod:`mmkd_ext.models.detectors.vidt_weights`; this is its command line.
"""
import argparse
import os
import os.path as osp

import torch

from mmkd_ext.models.detectors.vidt_weights import (convert_vidt_reference,
                                                    to_vidt_reference)
from mmkd_ext.models.utils.checkpoint import read_checkpoint, unwrap_state_dict


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        'src',
        help='ViDT reference checkpoint (.pth, state dict under '
        '"model"); with --reverse one of ours')
    p.add_argument('dst', help='output path')
    p.add_argument('--num-classes', type=int, default=80)
    p.add_argument(
        '--reverse', action='store_true', help='ours -> the complete reference layout')
    a = p.parse_args(argv)
    state = unwrap_state_dict(read_checkpoint(a.src, key_hint='src'), 'src', a.src)
    if a.reverse:
        out = dict(model=to_vidt_reference(state, complete=True))
    else:
        out = dict(state_dict=convert_vidt_reference(state, a.num_classes, 'src', a.src))
    os.makedirs(osp.dirname(osp.abspath(a.dst)), exist_ok=True)
    torch.save(out, a.dst)
    print(f'wrote {len(next(iter(out.values())))} tensors to {a.dst}')


if __name__ == '__main__':
    main()
