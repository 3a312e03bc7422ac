"""Reference side of the training-loss parity tests (issue 18, item 3).

Runs the FETCHED reference code (nothing of it is vendored into mmkd_ext): the needed
files are extracted from the two bare git snapshots into a temporary directory, patched
minimally for CPU (listed below), imported from there and deleted afterwards.

* ViDT (``vidt_nano_losses.pt``), naver-ai/vidt branch ``main`` (commit 5207d04) and
  roymiles/vkd ``vidt/`` (the same network plus VKD's projectors): the reference ViDT
  Swin-nano (method ``vidt``, aux loss, box refinement, every other argument at its
  default) is built by ``methods/vidt/detector.py`` ``build(args)``, loads the fixture
  weights of ``shared/fixtures/vidt_nano_reference`` (float16 -> float32), runs in
  TRAIN mode with dropout 0 (``--dropout 0`` and every ``nn.Dropout.p`` /
  ``nn.MultiheadAttention.dropout`` set to 0) on the fixture's padded pair of images,
  with image 0 without boxes and image 1 (the padded one) with 4 boxes. Stored:

  - ``det``: every weighted term of ``SetCriterion`` + ``HungarianMatcher`` (main's
    ``methods/vidt/criterion.py`` / ``matcher.py``, costs 2 / 5 / 2, weights 2 / 5 / 2,
    focal alpha 0.25), built for the 80 mapped COCO ids (``num_classes=80``; logits
    restricted to ``COCO_IDS``; labels 0..79), plus the matched indices per layer;
  - ``tm``: main's token-matching term (``loss_distil`` x ``--distil_loss_coef`` 4)
    between that student and a teacher of the same architecture whose weights are
    the fixture's perturbed by :func:`perturb_teacher` (teacher in eval mode, as
    ``engine.train_one_epoch_with_teacher``);
  - ``vkd``: roymiles/vkd's VKD term (``vidt/main.py`` ``OrthogonalLinear`` projectors
    attached as its ``main`` does, ``vidt/methods/vidt/detector.py`` projecting the
    student tokens, ``criterion.py`` normalising and summing 6 smooth-L1 terms, x 4),
    with the six projectors set to the orthogonal matrices of
    :func:`householder_pair` (vectors stored) and stored scales / biases.

* DeiT (``deit_vkd_step.pt``), roymiles/vkd ``engine.py`` ``train_one_epoch`` for one
  iteration (``models/deit.py`` ``DistilledVisionTransformer`` on timm, shrunk to
  ``embed_dim=24, depth=1, heads=3``, 10 classes; teacher timm ``regnety_002`` instead
  of ``regnety_160``: the same RegNetY code path) with ``--alpha 1 --gamma 1``, the
  mixup branch's ``SoftTargetCrossEntropy`` on stored soft targets, the stored
  orthonormal projector, every weight set by :func:`formula_fill` (nothing stored).
  Stored: the three loss terms and the total.

Patches (CPU, current torchvision): ``util/misc.py``'s torchvision < 0.7 branch is
removed (the same edit roymiles/vkd made); the multi-scale deformable attention uses
the reference's own pure-PyTorch ``ms_deform_attn_core_pytorch`` instead of the CUDA
extension; in ``engine.py`` ``torch.cuda.synchronize()`` is a no-op (its
``torch.cuda.amp.autocast()`` does not touch CPU tensors: float32 throughout).

Regenerate (about 15 s on CPU; byte-identical output)::

    python tools/analysis_tools/make_loss_parity_reference.py \\
        --vidt-git VIDT_GIT --vkd-git VKD_GIT \\
        [--fixture ../shared/fixtures/vidt_nano_reference] [--out tests/data/loss_parity]

where VIDT_GIT / VKD_GIT are git directories holding naver-ai/vidt commit 5207d04 and
roymiles/vkd (4b48050 was used), e.g. ``vidt/.git`` of ``git clone
https://github.com/naver-ai/vidt`` or a bare snapshot. Needs timm and scipy (the
project's venv has both); nothing is downloaded.

The tests (tests/test_models/test_detectors/test_vidt_loss_parity.py,
tests/test_models/test_distillers/test_vidt_distill_loss_parity.py,
tests/test_models/test_distillers/test_vkd_deit_step_parity.py) compute our side.
"""
import argparse
import ast
import math
import os
import os.path as osp
import re
import subprocess
import sys
import tempfile
import types
import zlib

import torch
import torch.nn as nn

VIDT_COMMIT = '5207d042e40c391b4e504d0dc47723170bbe22e2'
#: the 80 COCO category ids (of the 91 logits) in MMDet's contiguous label order
COCO_CAT_IDS = [
    i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
]
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# image 1 of the fixture's padded pair is 192 x 256 (h, w): pixel xyxy boxes, labels
# are MMDet's contiguous 0..79
GT_BOXES = [[],
            [[10., 12., 90., 100.], [120., 30., 250., 180.], [40., 110., 70., 150.],
             [0., 0., 256., 192.]]]
GT_LABELS = [[], [0, 17, 56, 79]]


# -- deterministic weights shared with the tests (they repeat these formulas) -------
def _phase(name):
    return (zlib.crc32(name.encode()) % 1000) / 1000.0 * 2 * math.pi


def perturb_teacher(state):
    """The teacher: every ``*.weight`` / ``*.bias`` of the (reference layout) fixture
    state plus ``0.05 * sin(0.37 i + phase(name))`` (i the flat index)."""
    out = {}
    for k, v in state.items():
        if v.is_floating_point() and k.endswith(('.weight', '.bias')):
            i = torch.arange(v.numel(), dtype=torch.float64)
            v = (v.double() + 0.05 * torch.sin(0.37 * i + _phase(k)).view_as(v)).to(
                v.dtype)
        out[k] = v
    return out


def formula_fill(name, shape):
    """A deterministic tensor for parameter / buffer ``name`` of ``shape`` (DeiT
    step; nothing random, nothing stored): ``w = a * sin(0.61 i + phase(name))`` with
    ``a = sqrt(2 / fan_in)`` for matrices / kernels (fan_in = numel / shape[0]),
    ``1 + 0.1 sin(...)`` for 1-d ``weight`` s (norm scales) and BN running variances,
    ``0.1 sin(...)`` otherwise; ``num_batches_tracked`` 0."""
    shape = tuple(shape)
    if name.endswith('num_batches_tracked'):
        return torch.zeros(shape, dtype=torch.long)
    n = int(torch.Size(shape).numel())
    wave = torch.sin(0.61 * torch.arange(n, dtype=torch.float64) + _phase(name))
    if len(shape) >= 2 and name.endswith('weight'):
        v = wave * math.sqrt(2.0 * shape[0] / n)
    elif name.endswith(('.weight', 'running_var')) and len(shape) == 1:
        v = 1 + 0.1 * wave
    else:
        v = 0.1 * wave
    return v.view(shape).float()


def deit_inputs():
    """(2, 3, 224, 224) images, deterministic, and the labels (3, 7)."""
    i = torch.arange(2 * 3 * 224 * 224, dtype=torch.float64)
    x = torch.sin(0.013 * i) + 0.5 * torch.cos(0.0071 * i + 1.0)
    return x.view(2, 3, 224, 224).float(), torch.tensor([3, 7])


def householder_pair(v1, v2):
    """(I - 2 u1 u1^T)(I - 2 u2 u2^T), u = v / |v|, in float64 -> float32."""
    n = v1.numel()
    eye = torch.eye(n, dtype=torch.float64)
    q = eye
    for v in (v1, v2):
        u = v.double() / v.double().norm()
        q = q @ (eye - 2 * torch.outer(u, u))
    return q.float()


def projector_params(n, k):
    """Vectors, scale and bias of projector ``k`` (n channels), deterministic."""
    i = torch.arange(n, dtype=torch.float64)
    v1 = torch.sin(0.9 * i + k) + 0.3
    v2 = torch.cos(1.7 * i + 2 * k) - 0.1
    scale = 1 + 0.2 * torch.sin(0.3 * i + k)
    bias = 0.1 * torch.cos(0.5 * i + k)
    return [t.float() for t in (v1, v2, scale, bias)]


# -- extracting and importing the reference ------------------------------------------
def _git_files(git_dir, rev, prefix, dest):
    names = subprocess.run(
        ['git', '--git-dir', git_dir, 'ls-tree', '-r', '--name-only', rev] +
        ([prefix] if prefix else []),
        check=True,
        capture_output=True,
        text=True).stdout.split()
    for name in names:
        if not name.endswith('.py') or '/build/' in name or 'ipynb' in name:
            continue
        text = subprocess.run(['git', '--git-dir', git_dir, 'show', f'{rev}:{name}'],
                              check=True,
                              capture_output=True).stdout
        path = osp.join(dest, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(text)


def _patch_misc(root):
    """Drop the module-level torchvision < 0.7 import branch of ``util/misc.py`` (it
    misreads '0.29' as 0.2; roymiles/vkd comments it out the same way)."""
    path = osp.join(root, 'util', 'misc.py')
    text = open(path).read()
    text = re.sub(
        r'^if float\(torchvision.__version__\[:3\]\) < 0.7:',
        'if False:  # CPU parity patch: torchvision >= 0.7',
        text,
        count=1,
        flags=re.M)
    open(path, 'w').write(text)


def _import_reference(root):
    """Import ``methods.vidt`` etc. from ``root`` with the pure-PyTorch attention."""
    for mod in [
            m for m in sys.modules
            if m.split('.')[0] in ('methods', 'util', 'ops', 'datasets', 'engine',
                                   'arguments')
    ]:
        del sys.modules[mod]
    sys.modules['MultiScaleDeformableAttention'] = types.ModuleType(
        'MultiScaleDeformableAttention')  # the CUDA extension is never called
    sys.path.insert(0, root)
    try:
        import ops.functions as F
        from ops.functions.ms_deform_attn_func import ms_deform_attn_core_pytorch

        def _apply(value, shapes, start, locations, weights, step):
            return ms_deform_attn_core_pytorch(value, shapes, locations, weights)

        F.MSDeformAttnFunction.apply = staticmethod(_apply)
        import arguments
        import methods.vidt.detector as detector
        from methods.vidt.criterion import SetCriterion
        from methods.vidt.matcher import HungarianMatcher
        from util.misc import NestedTensor
        return dict(
            arguments=arguments,
            detector=detector,
            SetCriterion=SetCriterion,
            HungarianMatcher=HungarianMatcher,
            NestedTensor=NestedTensor)
    finally:
        sys.path.remove(root)


def _no_dropout(model):
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
        if isinstance(m, nn.MultiheadAttention):
            m.dropout = 0.0  # a float, live in train mode
        if hasattr(m, 'drop_prob'):
            m.drop_prob = 0.0
    return model


def _args(ref, distil):
    args = ref['arguments'].get_args_parser().parse_args([])
    args.method, args.backbone_name, args.pre_trained = 'vidt', 'swin_nano', 'none'
    args.aux_loss = args.with_box_refine = True
    args.device, args.dropout = 'cpu', 0.0
    args.distil_model = 'vidt_nano' if distil else None
    return args


def _targets(image_sizes):
    targets = []
    for (h, w), boxes, labels in zip(image_sizes.tolist(), GT_BOXES, GT_LABELS):
        b = torch.tensor(boxes, dtype=torch.float32).view(-1, 4)
        cxcywh = torch.stack([(b[:, 0] + b[:, 2]) / 2 / w, (b[:, 1] + b[:, 3]) / 2 / h,
                              (b[:, 2] - b[:, 0]) / w, (b[:, 3] - b[:, 1]) / h], -1)
        targets.append(dict(labels=torch.tensor(labels, dtype=torch.int64), boxes=cxcywh))
    return targets


def _mapped(outputs, coco_ids):
    """The reference outputs restricted to the 80 mapped ids."""
    out = {k: v for k, v in outputs.items() if k in ('pred_logits', 'pred_boxes')}
    out['pred_logits'] = out['pred_logits'][..., coco_ids]
    out['aux_outputs'] = [
        dict(pred_logits=a['pred_logits'][..., coco_ids], pred_boxes=a['pred_boxes'])
        for a in outputs['aux_outputs']
    ]
    return out


def _criterion(ref, args, weight_dict):
    """The reference criterion for 80 classes (its 'cardinality' term only logs)."""
    matcher = ref['HungarianMatcher'](args.set_cost_class, args.set_cost_bbox,
                                      args.set_cost_giou)
    return ref['SetCriterion'](
        80, matcher, weight_dict, ['labels', 'boxes'], focal_alpha=args.focal_alpha)


def _weighted(losses, weight_dict):
    # as engine.py: the float32 tensor times the weight
    return {k: (v * weight_dict[k]).item() for k, v in losses.items() if k in weight_dict}


def _load(model, state):
    model.load_state_dict(state, strict=True)
    return model


def vidt_reference(vidt_git, vkd_git, fixture, coco_ids):
    weights = osp.join(fixture, 'vidt_nano_reference_weights_fp16.pth')
    state = torch.load(weights, map_location='cpu', weights_only=True)['model']
    state = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    teacher_state = perturb_teacher(state)
    case = torch.load(osp.join(fixture, 'reference_outputs.pt'), weights_only=True)
    case = case['padded_pair']
    targets = _targets(case['image_sizes'])
    result = dict(
        gt_boxes=GT_BOXES,
        gt_labels=GT_LABELS,
        coco_ids=list(coco_ids),
        teacher_checksum=float(
            sum(v.double().sum() for v in teacher_state.values()
                if v.is_floating_point())))
    with tempfile.TemporaryDirectory() as tmp:
        # naver-ai/vidt main: detection criterion + token matching
        root = osp.join(tmp, 'vidt_main')
        _git_files(vidt_git, VIDT_COMMIT, '', root)
        _patch_misc(root)
        ref = _import_reference(root)
        args = _args(ref, distil=True)
        torch.manual_seed(0)
        student, crit_91, _ = ref['detector'].build(args)
        student = _no_dropout(_load(student, state)).train()
        teacher = _load(ref['detector'].build(args, is_teacher=True), teacher_state)
        teacher = _no_dropout(teacher).eval()
        samples = ref['NestedTensor'](case['images'], case['masks'])
        outputs = student(samples)
        with torch.no_grad():
            t_out = teacher(samples)
        # the train-mode forward without dropout is the fixture's eval forward
        err = (outputs['pred_logits'] - case['pred_logits'][-1]).abs().max().item()
        assert err < 1e-4, f'reference train forward differs from the fixture: {err}'
        weight_dict = crit_91.weight_dict
        crit = _criterion(ref, args, weight_dict)
        mapped = _mapped(outputs, coco_ids)
        losses = crit(mapped, targets)
        result['det'] = _weighted(losses, weight_dict)
        result['det_total'] = sum(result['det'].values())
        result['indices'] = [[(i.tolist(), j.tolist())
                              for i, j in crit.matcher(o, targets)]
                             for o in mapped['aux_outputs'] + [mapped]]
        tm = crit(
            mapped,
            targets,
            distil_tokens=(outputs['distil_tokens'], t_out['distil_tokens']))
        result['tm'] = (tm['loss_distil'] * weight_dict['loss_distil']).item()
        result['commits'] = dict(vidt=VIDT_COMMIT)

        # roymiles/vkd vidt/: VKD's projectors and criterion
        rev = subprocess.run(['git', '--git-dir', vkd_git, 'rev-parse', 'HEAD'],
                             check=True,
                             capture_output=True,
                             text=True).stdout.strip()
        result['commits']['vkd'] = rev
        _git_files(vkd_git, rev, 'vidt', osp.join(tmp, 'vkd'))
        root = osp.join(tmp, 'vkd', 'vidt')
        _patch_misc(root)
        ref = _import_reference(root)
        orth_linear = _class_from(osp.join(root, 'main.py'), 'OrthogonalLinear')
        args = _args(ref, distil=True)
        torch.manual_seed(0)
        student, crit_91, _ = ref['detector'].build(args)
        student = _load(student, state)
        teacher = _load(ref['detector'].build(args, is_teacher=True), teacher_state)
        teacher.has_projections = False
        names = [
            'patch_projector_1', 'patch_projector_2', 'patch_projector_3',
            'patch_projector_4', 'body_det_projector', 'neck_det_projector'
        ]
        student.has_projections = True
        projectors = {}
        for k, name in enumerate(names):
            proj = orth_linear(256, 256)
            v1, v2, scale, bias = projector_params(256, k)
            with torch.no_grad():
                proj.projector.weight = householder_pair(v1, v2)
                proj.weight.copy_(scale)
                proj.bias.copy_(bias)
            setattr(student, name, proj)
            projectors[name] = dict(
                v1=v1,
                v2=v2,
                scale=scale,
                bias=bias,
                weight_err=float(
                    (proj.projector.weight - householder_pair(v1, v2)).abs().max()))
        student = _no_dropout(student).train()
        teacher = _no_dropout(teacher).eval()
        outputs = student(samples)
        with torch.no_grad():
            t_out = teacher(samples)
        weight_dict = crit_91.weight_dict
        crit = _criterion(ref, args, weight_dict)
        losses = crit(
            _mapped(outputs, coco_ids),
            targets,
            distil_tokens=(outputs['distil_tokens'], t_out['distil_tokens']))
        result['vkd'] = (losses['loss_distil'] * weight_dict['loss_distil']).item()
        result['vkd_det'] = _weighted(
            {
                k: v
                for k, v in losses.items() if k != 'loss_distil'
            }, weight_dict)
        result['projectors'] = projectors
    return result


def deit_reference(vkd_git):
    """One iteration of roymiles/vkd ``engine.train_one_epoch`` (see the docstring)."""
    import numpy as np
    import timm
    from timm.data import Mixup
    from timm.loss import SoftTargetCrossEntropy
    rev = subprocess.run(['git', '--git-dir', vkd_git, 'rev-parse', 'HEAD'],
                         check=True,
                         capture_output=True,
                         text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as root:
        _git_files(vkd_git, rev, 'engine.py', root)
        _git_files(vkd_git, rev, 'models', root)
        _git_files(vkd_git, rev, 'utils', root)
        path = osp.join(root, 'engine.py')
        text = open(path).read()
        assert text.count('torch.cuda.synchronize()') == 1, path
        open(path, 'w').write(
            text.replace('torch.cuda.synchronize()', 'pass  # CPU parity patch'))
        for mod in [
                m for m in sys.modules if m.split('.')[0] in ('engine', 'models', 'utils')
        ]:
            del sys.modules[mod]
        sys.path.insert(0, root)
        try:
            import engine
            from models.deit import DistilledVisionTransformer
        finally:
            sys.path.remove(root)
        from functools import partial

        # models/deit.py deit_tiny_distilled_patch16_224, shrunk (the reference's
        # conv stem and 14 x 14 patches need 224 px)
        student = DistilledVisionTransformer(
            patch_size=16,
            embed_dim=24,
            depth=1,
            num_heads=3,
            mlp_ratio=4,
            qkv_bias=True,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            num_classes=10,
            img_size=224)
        teacher = timm.create_model('regnety_002', pretrained=False, num_classes=10)
        # train.py: the projector, added after the model is built
        student.projector = torch.nn.utils.parametrizations.orthogonal(
            nn.Linear(student.num_features, teacher.num_features, bias=False))
        s_keys = [(k, tuple(v.shape)) for k, v in student.state_dict().items()
                  if not k.startswith('projector.')]
        t_keys = [(k, tuple(v.shape)) for k, v in teacher.state_dict().items()]
        with torch.no_grad():
            student.load_state_dict({
                k: formula_fill(k, sh)
                for k, sh in s_keys
            },
                                    strict=False)
            teacher.load_state_dict({k: formula_fill(k, sh) for k, sh in t_keys})
            d_t, d_s = teacher.num_features, student.num_features
            q, _ = torch.linalg.qr(formula_fill('projector', (d_t, d_s)).double())
            student.projector.weight = q.float()
            projector = student.projector.weight.detach().clone()
        for m in list(student.modules()) + list(teacher.modules()):
            if isinstance(m, nn.Dropout):
                m.p = 0.0
        for p in teacher.parameters():
            p.requires_grad = False

        class _DDP(nn.Module):  # what train.py hands over: student.module

            def __init__(self, module):
                super().__init__()
                self.module = module

        terms = {}

        def _recorded(fn, key):

            def call(*a, **k):
                out = fn(*a, **k)
                terms[key] = float(out)
                return out

            return call

        class _Mixup(Mixup):  # timm's Mixup, its lam recorded

            def _mix_batch(self, x):
                terms['lam'] = super()._mix_batch(x)
                return terms['lam']

        def _scaler(loss, optimizer, **kwargs):
            terms['total'] = float(loss)

        np.random.seed(0)
        mixup = _Mixup(
            mixup_alpha=0.8, cutmix_alpha=0.0, label_smoothing=0.1, num_classes=10)
        x, y = deit_inputs()
        optimizer = torch.optim.AdamW(student.parameters(), lr=0.0)
        engine.train_one_epoch(
            local_rank=1,  # no CSV / console logging
            csv_logger=None,
            print_rank0=print,
            student=_DDP(student),
            teacher=teacher,
            criterion=_recorded(SoftTargetCrossEntropy(), 'xe'),
            kl=_recorded(nn.KLDivLoss(reduction='batchmean'), 'kl'),
            data_loader=[(x, y, torch.arange(2))],
            optimizer=optimizer,
            device=torch.device('cpu'),
            epoch=0,
            loss_scaler=_scaler,
            max_norm=None,
            lr_scheduler=types.SimpleNamespace(step_update=lambda *a: None),
            mixup_fn=mixup,
            args=types.SimpleNamespace(alpha=1.0, gamma=1.0, bce_loss=False))
        terms['repr'] = terms['total'] - terms['xe'] - terms['kl']
        return dict(
            terms=terms,
            labels=y,
            num_classes=10,
            smoothing=0.1,
            student_keys=s_keys,
            teacher_model='regnety_002',
            teacher_keys=t_keys,
            projector=projector,
            commit=rev)


def _class_from(path, name):
    """Execute only the definition of class ``name`` of a reference file (its module
    imports training-only packages)."""
    tree = ast.parse(open(path).read())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    scope = dict(torch=torch, nn=nn)
    exec(compile(ast.Module([node], []), path, 'exec'), scope)
    return scope[name]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--vidt-git', required=True, help='bare git dir of naver-ai/vidt')
    parser.add_argument('--vkd-git', required=True, help='bare git dir of roymiles/vkd')
    parser.add_argument(
        '--fixture',
        default=osp.join(REPO, '..', 'shared', 'fixtures', 'vidt_nano_reference'))
    parser.add_argument('--out', default=osp.join(REPO, 'tests', 'data', 'loss_parity'))
    parser.add_argument('--only', choices=('vidt', 'deit'), default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    if args.only in (None, 'vidt'):
        res = vidt_reference(args.vidt_git, args.vkd_git, args.fixture, COCO_CAT_IDS)
        torch.save(res, osp.join(args.out, 'vidt_nano_losses.pt'))
        print('vidt:', {k: res[k] for k in ('det_total', 'tm', 'vkd')})
    if args.only in (None, 'deit'):
        res = deit_reference(args.vkd_git)
        torch.save(res, osp.join(args.out, 'deit_vkd_step.pt'))
        print('deit:', res['terms'])


if __name__ == '__main__':
    main()
