"""Convert a published VKD DeiT student (github:roymiles/vkd) into a checkpoint of our
conv-stem DeiT classifier.

    python tools/model_converters/vkd_deit_to_mmkd.py deit_tiny/latest.pth.tar \
        checkpoints/vkd_deit-tiny-convstem_in1k.pth
    python tools/test.py configs/deit/deit-tiny-convstem_300e_in1k.py \
        checkpoints/vkd_deit-tiny-convstem_in1k.pth

The input is what the reference ``train.py`` saves: ``{'student': state_dict, ...}`` of
its ``models/deit.py`` ``DistilledVisionTransformer`` (timm names, ``conv_embed.*``,
``head_dist.*``), with DDP's ``module.`` prefix; ``{'model': ...}`` and flat state dicts
are read too (``--ema`` takes ``'student_ema'``). Names are mapped by
:func:`mmkd_ext.models.backbones.vkd_deit_weights.convert_vkd_deit`; the VKD projector
(``projector.*``, training only) is dropped and the log says so, with its map and
what it computes as stored. The result is loaded strictly into the classifier of
``--config`` before it is written (default: the DeiT-Ti / DeiT-S conv-stem config
chosen by the file's width, 192 / 384), so a file of another size or layout fails here
with the missing / unexpected entries and the file named. The output
(``state_dict`` + ``meta``) is what ``tools/test.py`` / ``load_from`` expect; at test
time the classifier returns the mean of its two heads, as the reference does.
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

import mmkd_ext  # noqa: F401
from mmkd_ext.models.backbones import vkd_deit_weights as vkd
from mmkd_ext.models.utils import checkpoint as ckpt

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    192: 'configs/deit/deit-tiny-convstem_300e_in1k.py',
    384: 'configs/deit/deit-small-convstem_300e_in1k.py',
}


def build_classifier(config):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    return model.eval()


def convert(src, dst, config=None, use_ema=False):
    """Convert ``src`` and write ``dst``; returns ``(state_dict, log lines)``."""
    state = vkd.unwrap_vkd_deit(
        ckpt.read_checkpoint(src, key_hint='src'), 'src', src, use_ema)
    ours, dropped = vkd.convert_vkd_deit(state, 'src', src)
    if config is None:
        width = ours.get('backbone.cls_token', torch.empty(0, 0, 0)).shape[-1]
        if width not in CONFIGS:
            raise ckpt.CheckpointError(
                f'src: "{src}" has width {width}, not DeiT-Ti (192) / DeiT-S (384): '
                'pass --config with the matching conv-stem DeiT config')
        config = osp.join(REPO, CONFIGS[width])
    model = build_classifier(config)
    ckpt.load_state_dict_strict(
        model, ours, 'src', src, layout=f'VKD DeiT (roymiles/vkd) as {config}')
    lines = [f'converted {len(ours)} entries of {src} into {osp.relpath(config, REPO)}']
    if dropped:
        why = next(iter(vkd.VKD_DEIT_DROPPED.values()))
        lines.append(f'dropped: {vkd.projector_note(dropped)}: {why}')
    for line in lines:
        print_log(line, logger='current')
    meta = dict(
        source=osp.basename(src),
        converter='vkd_deit_to_mmkd',
        config=osp.relpath(config, REPO),
        dropped=sorted(dropped))
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), dst)
    return model.state_dict(), lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help="VKD DeiT checkpoint ({'student': state_dict, ...})")
    p.add_argument('dst', help='output MMEngine checkpoint')
    p.add_argument(
        '--config',
        help='classifier config to load into (default: by width, '
        f'{CONFIGS[192]} / {CONFIGS[384]})')
    p.add_argument(
        '--ema', action='store_true', help="convert 'student_ema' instead of 'student'")
    a = p.parse_args(argv)
    convert(a.src, a.dst, a.config, a.ema)
    print(f'wrote {a.dst}')


if __name__ == '__main__':
    main()
