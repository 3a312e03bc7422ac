"""ViDT Swin-nano speed vs MMDet's Deformable DETR R50, plus VKD's training overhead.

Measured in one process, same device, batch 1, 800 x 1333 input (configurable):
* inference images/s (``model.predict`` under ``torch.no_grad``),
* seconds per training iteration (forward + loss + backward + AdamW step),
* VKD: seconds per iteration of the VKD distillation model (student + frozen teacher
  + six orthogonal projectors) minus the student-alone iteration.
Random weights (nothing can be downloaded; speed does not depend on the values).

    python tools/benchmark/detector_speed.py [--height 800 --width 1333 --iters 3]

Prints a markdown table and a final ``RESULT <json>`` line.
"""
import argparse
import json
import os.path as osp
import time

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--height', type=int, default=800)
    p.add_argument('--width', type=int, default=1333)
    p.add_argument('--iters', type=int, default=3, help='timed iterations')
    p.add_argument('--warmup', type=int, default=1)
    p.add_argument('--teacher-arch', default='base', help='VKD teacher Swin size')
    p.add_argument('--skip-ddetr', action='store_true')
    p.add_argument('--skip-vkd', action='store_true')
    return p.parse_args()


def make_batch(h, w, device, num_boxes=5):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(num_boxes, 2, generator=g) * torch.tensor([w * 0.6, h * 0.6])
    wh = torch.rand(num_boxes, 2, generator=g) * torch.tensor([w * 0.3, h * 0.3]) + 16
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(h, w),
            ori_shape=(h, w),
            batch_input_shape=(h, w),
            pad_shape=(h, w),
            scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(
        bboxes=torch.cat([xy, xy + wh], 1).to(device),
        labels=torch.randint(0, 80, (num_boxes, ), generator=g).to(device))
    return torch.randn(1, 3, h, w, device=device), [sample]


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize()


def time_it(fn, iters, warmup, device):
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def build(cfg_path, registry_scope, overrides=None):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    cfg = Config.fromfile(cfg_path)
    if overrides:
        cfg.merge_from_dict(overrides)
    with DefaultScope.overwrite_default_scope(registry_scope):
        if registry_scope == 'mmrazor':
            from mmrazor.registry import MODELS
        else:
            from mmdet.registry import MODELS
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def train_step_time(model, inputs, samples, args, device):
    """Seconds of one AdamW step on the sum of ``model.loss`` terms (``time_it``)."""
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], 1e-4)

    def step():
        losses = model.loss(inputs, samples)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return time_it(step, args.iters, args.warmup, device)


def bench_detector(model, inputs, samples, args, device):
    model.to(device)
    model.eval()
    with torch.no_grad():
        infer = time_it(lambda: model.predict(inputs, samples), args.iters, args.warmup,
                        device)
    model.train()
    train = train_step_time(model, inputs, samples, args, device)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    return dict(infer_img_s=1.0 / infer, train_s_iter=train, params_m=params)


def main():
    args = parse_args()
    import mmkd_ext  # noqa: F401
    device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    inputs, samples = make_batch(args.height, args.width, device)
    results = {}
    vidt = build(osp.join(REPO, 'configs/vidt/vidt_swin-nano_50e_coco.py'), 'mmdet')
    results['ViDT Swin-nano'] = bench_detector(vidt, inputs, samples, args, device)
    print('ViDT Swin-nano', results['ViDT Swin-nano'], flush=True)
    del vidt
    if not args.skip_ddetr:
        import mmdet
        ddetr_cfg = osp.join(
            osp.dirname(mmdet.__file__), '.mim', 'configs', 'deformable_detr',
            'deformable-detr_r50_16xb2-50e_coco.py')
        ddetr = build(ddetr_cfg, 'mmdet', {'model.backbone.init_cfg': None})
        results['Deformable DETR R50'] = bench_detector(ddetr, inputs, samples, args,
                                                        device)
        print('Deformable DETR R50', results['Deformable DETR R50'], flush=True)
        del ddetr
    if not args.skip_vkd:
        vkd_cfg = 'configs/vkd/vkd_vidt-swin-nano_vidt-swin-base_50e_coco.py'
        vkd = build(
            osp.join(REPO, vkd_cfg), 'mmrazor', {
                'model.teacher_ckpt': None,
                'model.teacher.backbone.arch': args.teacher_arch
            })  # neck widths inferred
        vkd.to(device).train()
        t = train_step_time(vkd, inputs, samples, args, device)
        base = results['ViDT Swin-nano']['train_s_iter']
        results[f'VKD nano <- {args.teacher_arch} teacher'] = dict(
            train_s_iter=t, vkd_extra_s_iter=t - base)
    dev = torch.cuda.get_device_name() if device.type == 'cuda' else \
        f'CPU ({torch.get_num_threads()} threads)'
    print(
        f'\nbatch 1, {args.height}x{args.width}, {dev}, {args.iters} timed iterations\n')
    print(
        '| model | params (M) | inference (img/s) | train (s/iter) | VKD extra (s/iter) |'
    )
    print('|---|---|---|---|---|')
    for name, r in results.items():
        f = lambda k, fmt: fmt.format(r[k]) if k in r else '-'  # noqa: E731
        print(f"| {name} | {f('params_m', '{:.1f}')} | {f('infer_img_s', '{:.2f}')} | "
              f"{f('train_s_iter', '{:.2f}')} | {f('vkd_extra_s_iter', '{:.2f}')} |")
    print('RESULT ' + json.dumps(
        dict(device=dev, height=args.height, width=args.width, results=results)))


if __name__ == '__main__':
    main()
