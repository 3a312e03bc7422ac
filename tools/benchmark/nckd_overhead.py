"""Cost of the NCKD parts (NC1 + NC2 losses, online bank update, NC3 head) on top of a
logit-KD step at ImageNet scale: 1000 classes, 2048-d teacher features (ResNet-50),
512-d student features (ResNet-18), batch 64.

Both steps run in the same process, interleaved, on the same inputs:
* base: teacher forward (no grad) -> student forward -> linear head (512 x 1000) ->
  CE + KL(tau=4) -> backward -> SGD step;
* nckd: the same, with the linear head replaced by NC3Head (OrthogonalConnector
  512 -> 2048, fixed prototype classifier) and NC1 + NC2 losses and the online
  PrototypeBank update added.
The direct measurement: ``--iters`` pairs of full steps, base and nckd alternating
(ABBA) on the same batch; reported: the median of the per-pair time ratios minus 1 with
its distribution-free 95 % CI (``study.interleaved_ratio``; >= 6 pairs
for a CI). Also times the head + loss part alone (features given, many repeats) and
reports the "isolated" estimate (its extra time over the base head, divided by the base
step), built from parts, and a 2048 -> 1000 linear classifier (with its SGD step)
against the NC3 classifier. Both are measurements of the device they ran on (``RESULT``
names it; a CPU figure is not a GPU figure).

    python tools/benchmark/nckd_overhead.py [--img-size 224] [--iters 11] [--device cpu]

Prints a markdown table and a final line ``RESULT <json>``.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F
import torchvision
from mmpretrain.registry import MODELS as CLS_MODELS
from mmrazor.registry import MODELS as RAZOR_MODELS

import mmkd_ext  # noqa: F401

C, D_T, D_S = 1000, 2048, 512


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument('--img-size', type=int, default=224)
    p.add_argument('--batch-size', type=int, default=64)
    p.add_argument(
        '--iters',
        type=int,
        default=11,
        help='interleaved pairs of full steps (>= 6 for a 95 %% CI)')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch\'s choice)')
    return p.parse_args()


def sync(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def kd(s_logits, t_logits, tau=4.0):
    return F.kl_div(
        F.log_softmax(s_logits / tau, 1),
        F.softmax(t_logits / tau, 1),
        reduction='batchmean') * tau * tau


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device
    torch.manual_seed(0)
    teacher = torchvision.models.resnet50(num_classes=C).to(dev).eval()
    t_fc = teacher.fc
    teacher.fc = torch.nn.Identity()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = torchvision.models.resnet18(num_classes=C).to(dev)
    student.fc = torch.nn.Identity()
    lin_head = torch.nn.Linear(D_S, C).to(dev)
    bank = RAZOR_MODELS.build(
        dict(type='PrototypeBank', num_classes=C, feat_dim=D_T,
             name='bench_bank')).to(dev)
    nc3 = CLS_MODELS.build(
        dict(
            type='NC3Head',
            num_classes=C,
            in_channels=D_S,
            bank=bank,
            projector=dict(type='OrthogonalConnector', in_channels=D_S, out_channels=D_T),
            scale=16.0)).to(dev)
    nc1 = RAZOR_MODELS.build(dict(type='NC1AlignLoss', bank=bank)).to(dev)
    nc2 = RAZOR_MODELS.build(dict(type='NC2StructureLoss', loss_weight=5.0)).to(dev)
    opt_base = torch.optim.SGD(
        list(student.parameters()) + list(lin_head.parameters()), lr=1e-4, momentum=0.9)
    opt_nc = torch.optim.SGD(
        list(student.parameters()) + list(nc3.parameters()), lr=1e-4, momentum=0.9)
    x = torch.randn(args.batch_size, 3, args.img_size, args.img_size, device=dev)
    y = torch.randint(0, C, (args.batch_size, ), device=dev)
    with torch.no_grad():  # warm the bank as after some training
        for _ in range(4):
            bank(
                torch.randn(256, D_T, device=dev),
                torch.randint(0, C, (256, ), device=dev))

    def base_step(s_feat=None, t_feat=None):
        if t_feat is None:
            with torch.no_grad():
                t_feat = teacher(x)
        t_logits = t_fc(t_feat)
        s_feat = student(x) if s_feat is None else s_feat
        logits = lin_head(s_feat)
        loss = F.cross_entropy(logits, y) + kd(logits, t_logits)
        opt_base.zero_grad(set_to_none=True)
        loss.backward()
        opt_base.step()

    def nc_step(s_feat=None, t_feat=None):
        if t_feat is None:
            with torch.no_grad():
                t_feat = teacher(x)
        t_logits = t_fc(t_feat)
        s_feat = student(x) if s_feat is None else s_feat
        proj = nc3.pre_logits((s_feat, ))
        logits = nc3.fc(proj)
        bank(t_feat, y)
        loss = (
            F.cross_entropy(logits, y) + kd(logits, t_logits) + nc1(proj, y) +
            nc2(proj, y, t_feat))
        opt_nc.zero_grad(set_to_none=True)
        loss.backward()
        opt_nc.step()

    def timed(fn, *a):
        sync(dev)
        t0 = time.perf_counter()
        fn(*a)
        sync(dev)
        return time.perf_counter() - t0

    def run_pair(feat_args, iters, warmup):
        tb, tn = [], []
        for i in range(warmup + iters):
            b = timed(base_step, *feat_args(True))
            n = timed(nc_step, *feat_args(True))
            if i >= warmup:
                tb.append(b)
                tn.append(n)
        return statistics.median(tb), statistics.median(tn)

    from study import interleaved_ratio

    def synced(fn):

        def call():
            fn()
            sync(dev)

        return call

    direct = interleaved_ratio(
        synced(base_step), synced(nc_step), repeats=args.iters, warmup=args.warmup)
    full_b, full_n = direct['median_a'], direct['median_b']

    def head_feats(_):
        s = torch.randn(args.batch_size, D_S, device=dev, requires_grad=True)
        return s, torch.randn(args.batch_size, D_T, device=dev)

    head_b, head_n = run_pair(head_feats, 20, 3)

    # the NC3 classifier against a linear classifier of the same size (2048 -> 1000,
    # as when a projected student reuses a learned head): no weight gradient, no
    # optimizer state for the class weights
    lin_t = torch.nn.Linear(D_T, C).to(dev)
    opt_t = torch.optim.SGD(lin_t.parameters(), lr=1e-4, momentum=0.9)
    feat_t = torch.randn(args.batch_size, D_T, device=dev, requires_grad=True)

    def lin_cls():
        loss = F.cross_entropy(lin_t(feat_t), y)
        opt_t.zero_grad(set_to_none=True)
        loss.backward()
        opt_t.step()

    def nc3_cls():
        F.cross_entropy(nc3.fc(feat_t), y).backward()

    cls_l, cls_n = [], []
    for i in range(23):
        a, b = timed(lin_cls), timed(nc3_cls)
        if i >= 3:
            cls_l.append(a)
            cls_n.append(b)
    cls_l, cls_n = statistics.median(cls_l), statistics.median(cls_n)
    n_lin = sum(p.numel() for p in lin_head.parameters())
    n_nc3 = sum(p.numel() for p in nc3.parameters())
    overhead = direct['ratio'] - 1  # direct: median of the per-pair ratios
    ci = [
        None if v is None else 100 * (v - 1)
        for v in (direct['ci_low'], direct['ci_high'])
    ]
    # the same cost isolated: extra time of the NC head + losses (timed with given
    # features, many repeats) relative to the base step
    isolated = (head_n - head_b) / full_b
    rows = [
        ('full distillation step (base)', full_b * 1e3),
        ('full distillation step (+NC1+NC2+bank+NC3)', full_n * 1e3),
        ('head + losses only (base: linear + CE + KD)', head_b * 1e3),
        ('head + losses only (NCKD)', head_n * 1e3),
        ('classifier 2048 -> 1000: linear (fwd + bwd + SGD step)', cls_l * 1e3),
        ('classifier 2048 -> 1000: NC3 prototypes (fwd + bwd)', cls_n * 1e3),
    ]
    print(f'device={dev} threads={torch.get_num_threads()} batch={args.batch_size} '
          f'img={args.img_size} classes={C} d_t={D_T} d_s={D_S}')
    print('| step | median ms |\n|---|---|')
    for name, ms in rows:
        print(f'| {name} | {ms:.1f} |')
    ci_txt = 'no CI (< 6 pairs)' if ci[0] is None else \
        f'95 % CI {ci[0]:+.2f} .. {ci[1]:+.2f} %'
    print(f'| overhead of the NC parts, direct ({direct["n"]} interleaved full-step '
          f'pairs, median ratio; {ci_txt}) | {100 * overhead:+.2f}% |')
    print(f'| overhead of the NC parts, isolated (head delta / base step) | '
          f'{100 * isolated:+.2f}% |')
    print(f'| trainable head params: linear / NC3 (projector only) | {n_lin} / {n_nc3} |')
    print('RESULT ' + json.dumps(
        dict(
            device=dev,
            img_size=args.img_size,
            batch_size=args.batch_size,
            base_step_ms=round(full_b * 1e3, 2),
            nckd_step_ms=round(full_n * 1e3, 2),
            overhead_pct=round(100 * overhead, 3),
            overhead_ci95_pct=[None if v is None else round(v, 3) for v in ci],
            direct_pairs=direct['n'],
            threads=torch.get_num_threads(),
            overhead_isolated_pct=round(100 * isolated, 3),
            head_base_ms=round(head_b * 1e3, 3),
            head_nckd_ms=round(head_n * 1e3, 3),
            linear_head_params=n_lin,
            cls2048_linear_ms=round(cls_l * 1e3, 3),
            cls2048_nc3_ms=round(cls_n * 1e3, 3),
            nc3_trainable_params=n_nc3,
            target_pct=2.0,
            meets_target_direct=overhead <= 0.02,
            meets_target_isolated=isolated <= 0.02)))


if __name__ == '__main__':
    main()
