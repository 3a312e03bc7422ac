"""Write the VKD reference-layout test files of ``tests/data/vkd_reference/`` by running
the fetched reference code itself (no rebuild): the files a published VKD checkpoint
looks like, with small random weights, and the reference's outputs on them.

    # the two reference trees, at the commits the files were made from
    git clone https://github.com/roymiles/vkd /tmp/vkd          # 4b48050
    git clone https://github.com/naver-ai/vidt /tmp/vidt        # main, 5207d04
    git -C /tmp/vidt checkout 5207d04
    python tools/model_converters/make_vkd_reference_files.py \
        --vkd /tmp/vkd --vidt /tmp/vidt --out tests/data/vkd_reference

Needs timm and scipy (the reference imports them); nothing is downloaded. What runs:

* DeiT (roymiles/vkd ``models/deit.py`` ``DistilledVisionTransformer`` on the
  installed timm; ``train.py`` adds ``student.projector =
  parametrizations.orthogonal(nn.Linear(student.num_features, teacher.num_features,
  bias=False))``, wraps the student in DDP, builds the optimizer with
  ``utils/optimizer.py`` ``create_optimizer`` and saves ``{'student':
  student.state_dict(), ...}``): the same steps at embed 32, depth 2, 2 heads, 10
  classes, 224 px (the reference hard-codes 14 x 14 patches and a 64-channel stem), a
  48-d "teacher" width, a one-process gloo DDP (hence ``module.``), one AdamW step of the
  reference optimizer (its weight decay moves the Householder sign diagonal below 1 in
  magnitude, which the parametrization truncates to 0: the stored projector is zero, as
  in the published files; the projector's two entries are kept in float32, the rest is
  float16).
* ViDT (naver-ai/vidt ``methods/swin_w_ram.py`` ``SwinTransformer`` +
  ``finetune_det``, ``methods/vidt/deformable_transformer.py``, ``methods/vidt/
  detector.py`` ``Detector`` with aux_loss and box refinement; the six projectors are
  roymiles/vkd ``vidt/main.py`` ``OrthogonalLinear``, executed from that file, attached
  as ``main.py`` does): Swin embed 8, depths 2-2-2-2, heads 1-2-4-8, 10 [DET] tokens,
  width (reduced_dim = pos_dim) 64, 8 heads, 2 decoder layers, FFN 128, 10 classes.
  The reference's last ``PatchMerging`` writes the extra level's width as a literal
  256 (the detector requires it to equal ``pos_dim`` = ``reduced_dim``); its two
  Linear layers are rebuilt at width 64 (the only size patch: at 256 the six projectors
  and the decoder alone would exceed the test data budget).
  Patched for CPU only where the reference needs CUDA: the compiled
  ``MultiScaleDeformableAttention`` extension is replaced by the reference's own
  ``ms_deform_attn_core_pytorch`` (``ops/functions/ms_deform_attn_func.py``), and
  ``util/misc.py``'s torchvision version test (``float('0.29'[:3]) < 0.7``) is given a
  version string it can parse.

Weights are random (each reference init, then Gaussian noise of std 0.05 on every
floating entry, BatchNorm variances kept positive), stored as float16 except the
projectors' orthogonal-parametrization entries (float32, as in the published files: a
float16 base is orthogonal to 1e-3 only, and the DeiT sign decay is below float16
resolution); every output below was computed from exactly the stored values cast to
float32, in eval mode:

* ``deit_vkd_reference.pt`` / ``deit_outputs.pt``: ``x`` (1, 3, 224, 224) float16
  input; ``logits`` = the reference's eval output ``(head(cls) + head_dist(dist)) / 2``,
  ``cls_logits``, ``dist_logits``, ``patch_mean`` (its VKD feature) and ``projected``
  (``projector(patch_mean)``); ``digits_logits`` (8, 10) on the first 8 images of the
  digits test split at 224 px normalised as the digits classification configs
  (mean 77.8, std 81.2), with ``digits_checksum`` of that input.
* ``vidt_vkd_reference.pt`` (``main.py``'s checkpoint: ``model``, ``lr_scheduler``,
  ``epoch``, ``args`` = its ``argparse.Namespace``; no optimizer state) /
  ``vidt_outputs.pt``: ``images`` (2, 3, 64, 96)
  float16, ``masks`` (the second image is 48 x 64, zero padded), ``pred_logits`` /
  ``pred_boxes`` (3, 2, 10, 10) / (3, 2, 10, 4) of the 3 prediction layers;
  ``projector_inputs`` / ``projector_outputs``: a (5, 64) float16 input and each
  projector's output; ``digits``: the reference's detections (its ``PostProcess``) on the
  2 validation images of ``make_digits_coco(root, 4, 2, seed=1)`` (64 x 64, normalised as
  the ViDT configs), with the pixel checksum.
"""
import argparse
import ast
import contextlib
import hashlib
import importlib
import importlib.util
import os
import os.path as osp
import sys
import tempfile
import types
from functools import partial

import torch
import torch.nn as nn

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOP_LEVEL = ('models', 'utils', 'methods', 'util', 'ops', 'datasets',
             'MultiScaleDeformableAttention')
NOISE = 0.05


@contextlib.contextmanager
def reference_tree(root):
    """``root`` first on ``sys.path``; its top-level packages forgotten afterwards (the
    two trees share names such as ``utils`` / ``util``)."""
    sys.path.insert(0, root)
    try:
        yield
    finally:
        sys.path.remove(root)
        for name in list(sys.modules):
            if name.split('.')[0] in TOP_LEVEL:
                del sys.modules[name]


def perturb(module, gen):
    """Reference init + Gaussian noise on every floating entry (BN variance > 0)."""
    with torch.no_grad():
        for name, t in module.state_dict(keep_vars=True).items():
            if not t.is_floating_point():
                continue
            if 'parametrizations' in name:
                continue  # the orthogonal parametrization's own entries stay valid
            noise = torch.randn(t.shape, generator=gen) * NOISE
            if name.endswith('running_var'):
                t.copy_((t + noise).abs() + 0.5)
            else:
                t.add_(noise)


def fp16(state, keep=()):
    """float16 copies of the floating entries, except names containing one of
    ``keep`` (stored as they are)."""
    return {
        k: v.half() if v.is_floating_point() and not any(s in k
                                                         for s in keep) else v.clone()
        for k, v in state.items()
    }


def fp32(state):
    return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}


def checksum(t):
    return hashlib.sha256(t.detach().float().contiguous().numpy().tobytes()).hexdigest()


def load_class(path, name, namespace):
    """Execute the class ``name`` of the file ``path`` (only that class)."""
    tree = ast.parse(open(path).read(), path)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    code = compile(ast.Module(body=[node], type_ignores=[]), path, 'exec')
    exec(code, namespace)
    return namespace[name]


def digits_inputs(img_size, count):
    """The first ``count`` digits test images, normalised as the digits configs."""
    from mmkd_ext.datasets.digits import digits_split_indices, load_digits_arrays
    imgs, labels = load_digits_arrays(img_size)
    idx = digits_split_indices('test')[:count]
    x = torch.from_numpy(imgs[idx]).permute(0, 3, 1, 2).float()
    return (x - 77.8) / 81.2, torch.from_numpy(labels[idx])


# -- DeiT --------------------------------------------------------------------------------
def make_deit(vkd_root, out, gen):
    with reference_tree(vkd_root):
        deit = importlib.import_module('models.deit')
        optimizer = importlib.import_module('utils.optimizer')
        torch.manual_seed(0)
        student = deit.DistilledVisionTransformer(
            patch_size=16,
            embed_dim=32,
            depth=2,
            num_heads=2,
            mlp_ratio=4,
            qkv_bias=True,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            num_classes=10,
            img_size=224)
        perturb(student, gen)
        # train.py: the projector, DDP, the optimizer, one step
        student.projector = torch.nn.utils.parametrizations.orthogonal(
            nn.Linear(student.num_features, 48, bias=False))
        with tempfile.TemporaryDirectory() as tmp:
            torch.distributed.init_process_group(
                'gloo', init_method=f'file://{tmp}/store', rank=0, world_size=1)
            try:
                ddp = torch.nn.parallel.DistributedDataParallel(student)
                opt = optimizer.create_optimizer(ddp.module)
                x = torch.randn(2, 3, 224, 224, generator=gen)
                z_cls, z_dist, z = ddp.module.forward_features(x)
                loss = ddp.module.head(z_cls).square().mean() + \
                    ddp.module.head_dist(z_dist).square().mean() + \
                    ddp.module.projector(z.mean(1)).square().mean()
                loss.backward()
                opt.step()
                # the projector in float32: the decay of its sign diagonal (1 ->
                # 0.999975) is below float16 resolution
                state = fp16(ddp.state_dict(), keep=('projector.', ))
            finally:
                torch.distributed.destroy_process_group()
    ckpt = dict(
        student=state,
        student_ema=None,
        epoch=299,
        loss=1.0,
        batch_size=512,
        world_size=1,
        lr=5e-6)  # train.py's save_dict, less optimizer / scaler state
    torch.save(ckpt, osp.join(out, 'deit_vkd_reference.pt'))

    student.load_state_dict({k[len('module.'):]: v for k, v in fp32(state).items()})
    student.eval()
    x = torch.randn(1, 3, 224, 224, generator=gen).half()
    dx, labels = digits_inputs(224, 8)
    with torch.no_grad():
        z_cls, z_dist, z = student.forward_features(x.float())
        outputs = dict(
            x=x,
            logits=student(x.float()),
            cls_logits=student.head(z_cls),
            dist_logits=student.head_dist(z_dist),
            patch_mean=z.mean(1),
            projected=student.projector(z.mean(1)),
            digits_logits=student(dx),
            digits_labels=labels,
            digits_checksum=checksum(dx))
    torch.save(outputs, osp.join(out, 'deit_outputs.pt'))
    return state, outputs


# -- ViDT --------------------------------------------------------------------------------
VIDT_SIZES = dict(
    embed_dim=8,
    depths=[2, 2, 2, 2],
    num_heads=[1, 2, 4, 8],
    det_tokens=10,
    width=64,
    nheads=8,
    dec_layers=2,
    ffn=128,
    num_classes=10)
PROJECTORS = ('patch_projector_1', 'patch_projector_2', 'patch_projector_3',
              'patch_projector_4', 'neck_det_projector', 'body_det_projector')


def _cpu_deformable_attention():
    """The compiled extension's forward, served by the reference's pure-PyTorch core."""
    stub = types.ModuleType('MultiScaleDeformableAttention')

    def forward(value, shapes, level_start_index, locations, weights, im2col_step):
        from ops.functions.ms_deform_attn_func import ms_deform_attn_core_pytorch
        shapes = [(int(h), int(w)) for h, w in shapes]
        return ms_deform_attn_core_pytorch(value, shapes, locations, weights)

    stub.ms_deform_attn_forward = forward
    sys.modules['MultiScaleDeformableAttention'] = stub


@contextlib.contextmanager
def _parsable_torchvision_version():
    import torchvision
    version = torchvision.__version__
    torchvision.__version__ = '9.9'  # util/misc.py: float(__version__[:3]) < 0.7
    try:
        yield
    finally:
        torchvision.__version__ = version


def build_vidt(vidt_root, vkd_root, gen):
    s = VIDT_SIZES
    _cpu_deformable_attention()
    with _parsable_torchvision_version():
        swin = importlib.import_module('methods.swin_w_ram')
        transformer = importlib.import_module('methods.vidt.deformable_transformer')
        detector = importlib.import_module('methods.vidt.detector')
        post = importlib.import_module('methods.vidt.postprocessor')
        misc = importlib.import_module('util.misc')
    torch.manual_seed(0)
    backbone = swin.SwinTransformer(
        pretrain_img_size=[224, 224],
        embed_dim=s['embed_dim'],
        depths=s['depths'],
        num_heads=s['num_heads'],
        window_size=7,
        drop_path_rate=0.0)
    backbone.finetune_det(
        method='vidt',
        det_token_num=s['det_tokens'],
        pos_dim=s['width'],
        cross_indices=[3])
    # the extra stride-64 level: PatchMerging(expand=False) writes a 256 literal where
    # the detector expects pos_dim (= reduced_dim) channels; at width 64 it gets 64
    last = backbone.layers[-1].downsample
    last.reduction = nn.Linear(4 * last.dim, s['width'], bias=False)
    last.expansion = nn.Linear(last.dim, s['width'], bias=False)
    deform = transformer.DeformableTransformer(
        d_model=s['width'],
        nhead=s['nheads'],
        num_decoder_layers=s['dec_layers'],
        dim_feedforward=s['ffn'],
        dropout=0.1,
        activation='relu',
        return_intermediate_dec=True,
        num_feature_levels=4,
        dec_n_points=4,
        token_label=False)
    model = detector.Detector(
        backbone,
        deform,
        num_classes=s['num_classes'],
        num_queries=s['det_tokens'],
        aux_loss=True,
        with_box_refine=True,
        distil=True)
    # roymiles/vkd vidt/main.py: the six projectors, attached after build_model
    ortho = load_class(
        osp.join(vkd_root, 'vidt', 'main.py'), 'OrthogonalLinear',
        dict(torch=torch, nn=nn))
    model.has_projections = True
    for name in PROJECTORS[:4] + ('neck_det_projector', 'body_det_projector'):
        setattr(model, name, ortho(s['width'], s['width']))
    perturb(model, gen)
    with torch.no_grad():  # trained projectors: a skew part away from the start
        for name in PROJECTORS:
            orig = getattr(model, name).projector.parametrizations.weight.original
            orig.add_(torch.randn(orig.shape, generator=gen) * 0.1)
    return model, post, misc


def reference_args(vkd_root):
    """The ``argparse.Namespace`` roymiles/vkd ``vidt/main.py`` pickles under 'args'
    (its own parser, the README's Swin-nano training command)."""
    spec = importlib.util.spec_from_file_location(
        'vkd_vidt_arguments', osp.join(vkd_root, 'vidt', 'arguments.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_args_parser().parse_args([
        '--method', 'vidt', '--backbone_name', 'swin_nano', '--epochs', '50', '--lr',
        '1e-4', '--min-lr', '1e-7', '--batch_size', '2', '--num_workers', '2',
        '--aux_loss', 'True', '--with_box_refine', 'True', '--distil_model', 'vidt_base',
        '--distil_model_path', '/ckpts/vidt_base_150.pth', '--coco_path',
        '/home/data/coco', '--output_dir', 'swin_nano'
    ])


def run_vidt(model, misc, images, masks):
    with torch.no_grad():
        out = model(misc.NestedTensor(images, masks))
    logits = torch.stack([a['pred_logits']
                          for a in out['aux_outputs']] + [out['pred_logits']])
    boxes = torch.stack([a['pred_boxes']
                         for a in out['aux_outputs']] + [out['pred_boxes']])
    return logits, boxes


def digits_coco_inputs():
    """The 2 validation images of the test suite's digits COCO set."""
    import cv2
    sys.path.insert(0, osp.join(REPO, 'tools', 'dataset_converters'))
    try:
        make = importlib.import_module('make_digits_coco').make_digits_coco
    finally:
        sys.path.pop(0)
    with tempfile.TemporaryDirectory() as root:
        make(root, 4, 2, seed=1)
        files = sorted(os.listdir(osp.join(root, 'val')))
        imgs = [cv2.imread(osp.join(root, 'val', f))[..., ::-1].copy() for f in files]
    x = torch.stack([torch.from_numpy(i).permute(2, 0, 1).float() for i in imgs])
    mean = torch.tensor([123.675, 116.28, 103.53])[:, None, None]
    std = torch.tensor([58.395, 57.12, 57.375])[:, None, None]
    return (x - mean) / std, files


def make_vidt(vidt_root, vkd_root, out, gen):
    with reference_tree(vidt_root):
        model, post, misc = build_vidt(vidt_root, vkd_root, gen)
        # the projectors' parametrization entries in float32 (as in the published
        # float32 files): a float16 ``base`` is orthogonal to 1e-3 only
        state = fp16(model.state_dict(), keep=('.projector.parametrizations.', ))
        # main.py's checkpoint: model, optimizer, lr_scheduler, epoch, args (the
        # optimizer state is left out to keep the file small)
        torch.save(
            dict(
                model=state,
                lr_scheduler=dict(last_epoch=49),
                epoch=49,
                args=reference_args(vkd_root)), osp.join(out, 'vidt_vkd_reference.pt'))
        model.load_state_dict(fp32(state))
        model.eval()
        images = torch.randn(2, 3, 64, 96, generator=gen).half()
        masks = torch.zeros(2, 64, 96, dtype=torch.bool)
        masks[1, 48:] = True
        masks[1, :, 64:] = True
        x = images.float().masked_fill(masks[:, None], 0)
        logits, boxes = run_vidt(model, misc, x, masks)
        proj_in = torch.randn(5, VIDT_SIZES['width'], generator=gen).half()
        with torch.no_grad():
            proj_out = {n: getattr(model, n)(proj_in.float()) for n in PROJECTORS}
        dx, files = digits_coco_inputs()
        dmask = torch.zeros(dx.shape[0], *dx.shape[-2:], dtype=torch.bool)
        with torch.no_grad():
            raw = model(misc.NestedTensor(dx, dmask))
            sizes = torch.tensor([list(dx.shape[-2:])] * dx.shape[0])
            dets = post.PostProcess('coco')(raw, sizes)
    outputs = dict(
        images=images,
        masks=masks,
        pred_logits=logits,
        pred_boxes=boxes,
        projector_inputs=proj_in,
        projector_outputs=proj_out,
        digits=dict(files=files, checksum=checksum(dx), detections=dets))
    torch.save(outputs, osp.join(out, 'vidt_outputs.pt'))
    return state, outputs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--vkd', required=True, help='roymiles/vkd tree (4b48050)')
    p.add_argument('--vidt', required=True, help='naver-ai/vidt tree (5207d04)')
    p.add_argument('--out', default=osp.join(REPO, 'tests', 'data', 'vkd_reference'))
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    gen = torch.Generator().manual_seed(2024)
    make_deit(osp.abspath(a.vkd), a.out, gen)
    make_vidt(osp.abspath(a.vidt), osp.abspath(a.vkd), a.out, gen)
    for f in sorted(os.listdir(a.out)):
        print(f'{f}: {osp.getsize(osp.join(a.out, f)) / 1024:.0f} KiB')


if __name__ == '__main__':
    main()
