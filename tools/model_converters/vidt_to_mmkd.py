"""Convert a ViDT reference-implementation checkpoint to mmkd_ext's ``ViDT`` names.

    python tools/model_converters/vidt_to_mmkd.py vidt_nano_50.pth \
        checkpoints/vidt_swin_nano_mmkd.pth

The output (``dict(state_dict=...)``) loads with ``load_from`` / ``model.teacher_ckpt``
into ``configs/vidt/vidt_swin_nano_50e_coco.py`` (use the matching Swin size). The
91-way class branches (COCO ids) become MMDet's 80 contiguous labels.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import torch  # noqa: E402

from mmkd_ext.compat import safe_torch_load  # noqa: E402
from mmkd_ext.models.detectors.vidt_weights import convert_vidt_reference  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='ViDT reference checkpoint (.pth, state dict under "model")')
    p.add_argument('dst', help='output path')
    p.add_argument('--num-classes', type=int, default=80)
    a = p.parse_args(argv)
    state = convert_vidt_reference(safe_torch_load(a.src, key_hint='src'), a.num_classes)
    os.makedirs(osp.dirname(osp.abspath(a.dst)), exist_ok=True)
    torch.save(dict(state_dict=state), a.dst)
    print(f'wrote {len(state)} tensors to {a.dst}')


if __name__ == '__main__':
    main()
