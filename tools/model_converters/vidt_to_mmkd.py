"""Convert a ViDT reference-implementation checkpoint to mmkd_ext's ``ViDT`` names.

    python tools/model_converters/vidt_to_mmkd.py vidt_nano_50.pth \
        checkpoints/vidt_swin_nano_mmkd.pth \
        --config configs/vidt/vidt_swin-nano_50e_coco.py
    python tools/model_converters/vidt_to_mmkd.py --reverse epoch_50.pth vidt_ref.pth

The output (``dict(state_dict=...)``) loads with ``load_from`` / ``model.teacher_ckpt``
into ``configs/vidt/vidt_swin-nano_50e_coco.py`` (use the matching Swin size;
``--config`` loads the result strictly into that config's detector before writing it,
so a file of another size fails here, naming the file and the entries, where
``tools/test.py``'s ``load_from`` would only warn). The
91-way class branches (COCO ids) become MMDet's 80 contiguous labels; the entries the
reference never uses are dropped (listed in
``mmkd_ext.models.detectors.vidt_weights.REFERENCE_UNUSED``). Without converting, a
reference checkpoint also loads directly: ``model.init_cfg=dict(type='Pretrained',
checkpoint=...)``. ``--reverse`` writes the complete reference layout (``{'model': ...}``)
from one of our checkpoints. The conversion itself lives in
:mod:`mmkd_ext.models.detectors.vidt_weights`; this is its command line.

Published VKD ViDT checkpoints (github:roymiles/vkd, ``vidt/main.py``) also carry six
projectors (``patch_projector_1..4``, ``body_det_projector``, ``neck_det_projector``,
each an ``OrthogonalLinear``). They serve only the distillation loss, so ``DST`` (the
detector, for evaluation) leaves them out and the log says so. ``--projectors OUT``
writes, besides ``DST``, a checkpoint for a user who continues the distillation: the
detector as ``architecture.*`` plus the six projectors as the connectors of the VKD
config (``--projectors-config``, default
``configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py``: pairs ``vkd_p0..3``,
``vkd_det``, ``vkd_dec`` of ``configs/_base_/distill/vidt_vkd.py``), for ``load_from``
(the teacher comes from ``model.teacher_ckpt``)::

    python tools/model_converters/vidt_to_mmkd.py vidt_nano_vkd.pth \\
        checkpoints/vkd_vidt-swin-nano_coco.pth --projectors checkpoints/vkd_state.pth
    python tools/train.py configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py \\
        --cfg-options load_from=checkpoints/vkd_state.pth \\
        model.teacher_ckpt=work_dirs/vidt_swin-base_50e_coco/epoch_50.pth

Each projector's orthogonal matrix P is rebuilt with PyTorch's own parametrization from
its ``original`` and ``0.base`` entries and PyTorch's default map for the shape
(``matrix_exp`` for 256 x 256: the reference passes no ``orthogonal_map``, and the
entries are the same for every map; ``--orthogonal-map`` overrides it), then written in
the connector's parametrization and checked (the connector's weight equals P); see
:mod:`mmkd_ext.models.detectors.vidt_vkd_weights`.
"""
import argparse
import copy
import os
import os.path as osp
from collections import OrderedDict

import torch
from mmengine.logging import print_log

import mmkd_ext  # noqa: F401
from mmkd_ext.models.detectors import vidt_vkd_weights as vkd
from mmkd_ext.models.detectors import vidt_weights
from mmkd_ext.models.utils import checkpoint as ckpt

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VKD_CONFIG = 'configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py'


def build_vkd_distiller(config, width):
    """The VKD distiller of ``config`` with every pair at the projectors' width (given,
    so no dry run of the two detectors is needed)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(config)
    dist = copy.deepcopy(cfg.model.get('distiller'))
    if not dist or 'feature_pairs' not in dist:
        raise ckpt.CheckpointError(
            f'--projectors-config: "{config}" has no VKD distiller '
            '(model.distiller.feature_pairs)')
    names = [p.get('name') for p in dist['feature_pairs']]
    absent = [p for p in vkd.VKD_PROJECTOR_PAIRS.values() if p not in names]
    if absent:
        raise ckpt.CheckpointError(
            f'--projectors-config: "{config}" has no feature pairs '
            f'{absent} (its pairs: {names})')
    dist['pair_defaults'] = dict(
        dist.get('pair_defaults') or {}, student_channels=width, teacher_channels=width)
    dist['dry_run_shape'] = False
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(dist)


def write_projectors(projectors, detector, out, config, orthogonal_map, src):
    """Write ``architecture.*`` (the converted detector) and the projectors as
    ``distiller.connectors.*`` of ``config`` to ``out``; returns that state dict."""
    key = 'projector.parametrizations.weight.original'
    widths = {v[key].shape[0] for v in projectors.values() if key in v}
    if len(widths) != 1:
        raise ckpt.CheckpointError(f'src: "{src}": the projectors have widths {widths}')
    distiller = build_vkd_distiller(config, widths.pop())
    conns, lines = vkd.projectors_to_connectors(projectors, distiller, orthogonal_map,
                                                src)
    state = OrderedDict(('architecture.' + k, v) for k, v in detector.items())
    state.update(conns)
    meta = dict(
        source=osp.basename(src),
        converter='vidt_to_mmkd --projectors',
        config=osp.relpath(config, REPO))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), out)
    for line in lines:
        print_log(line, logger='current')
    print(f'wrote the detector and {len(lines)} projectors ({len(conns)} tensors) to '
          f'{out} (load_from for {osp.relpath(config, REPO)})')
    return state


def check_against_config(state, config, src):
    """Load the converted detector strictly into the detector of ``config`` (MMEngine's
    ``load_from``, which ``tools/test.py`` uses, would only warn about a misfit)."""
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(config)
    model_cfg = cfg.model
    if 'architecture' in model_cfg:  # a distillation config: its student
        model_cfg = model_cfg.architecture
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(model_cfg)
    ckpt.load_state_dict_strict(
        model,
        state,
        'src',
        src,
        allowed_missing=(r'relative_position_index$', ),
        layout=f'vidt_reference as {osp.relpath(config, REPO)}')
    print_log(f'{src} fits {osp.relpath(config, REPO)} (strict)', logger='current')


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
    p.add_argument(
        '--config',
        help='detector config the result must fit: loaded strictly before writing '
        '(e.g. configs/vidt/vidt_swin-nano_50e_coco.py; tools/test.py alone only '
        'warns about missing / unexpected entries)')
    p.add_argument(
        '--projectors',
        metavar='OUT',
        help='also write the detector (architecture.*) and the six VKD projectors as '
        "the VKD config's connectors (distiller.connectors.*) to OUT, for load_from")
    p.add_argument(
        '--projectors-config',
        default=osp.join(REPO, VKD_CONFIG),
        help=f'the VKD config whose connectors receive them (default {VKD_CONFIG})')
    p.add_argument(
        '--orthogonal-map',
        choices=['matrix_exp', 'cayley', 'householder'],
        help="the projectors' PyTorch orthogonal map (default: PyTorch's default for "
        'the shape, matrix_exp for square weights, as the reference used)')
    a = p.parse_args(argv)
    raw = ckpt.read_checkpoint(
        a.src, key_hint='src', extra_safe_globals=ckpt.REFERENCE_TRAINING_GLOBALS)
    state = ckpt.unwrap_state_dict(raw, 'src', a.src)
    if a.reverse:
        out = dict(model=vidt_weights.to_vidt_reference(state, complete=True))
    else:
        out = dict(
            state_dict=vidt_weights.convert_vidt_reference(state, a.num_classes, 'src',
                                                           a.src))
        if a.config:
            check_against_config(out['state_dict'], a.config, a.src)
        if a.projectors:
            projectors = vkd.split_vkd_projectors(state)[1]
            if not projectors:
                raise ckpt.CheckpointError(
                    f'--projectors: "{a.src}" holds no VKD projectors '
                    f'({", ".join(vkd.VKD_PROJECTOR_PAIRS)})')
            write_projectors(projectors, out['state_dict'], a.projectors,
                             a.projectors_config, a.orthogonal_map, a.src)
    os.makedirs(osp.dirname(osp.abspath(a.dst)), exist_ok=True)
    torch.save(out, a.dst)
    print(f'wrote {len(next(iter(out.values())))} tensors to {a.dst}')


if __name__ == '__main__':
    main()
