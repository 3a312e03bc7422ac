"""Digits generation study: data-limited BigGAN with discriminator distillation.

10% of the digits training images (144, subset seed 0), four students trained with the
same code as the configs (``DataLimitedGAN.train_step``, ``GANOptimWrapperConstructor``,
``GenerativeMetric``), without the runner's overhead:

* ``baseline``: DiffAugment (translation, cutout) BigGAN;
* ``regression``: + KD-DLGAN-style two-sided regression of D's head to the teacher;
* ``vkd_nonorm``: + VKD (orthogonal connector, unnormalised targets);
* ``vkd_whiten``: + VKD with whitened targets.

Teacher: a digits classifier (MMPretrain ResNet_CIFAR-18, width 16, 128-d) trained once
here; metrics: FID / precision / recall / density / coverage / IS on the features of a
*different* digits classifier (ResNet_CIFAR-18, width 8, 64-d, other seed) trained once
on the full training split; reference = the 360 test images; EMA G, 500 class-balanced
samples. Models and schedule are sized for a 2-core CPU (see ``--help``).

    python tools/benchmark/digits_gan.py --seeds 3

Prints a markdown table (mean +- std over seeds) and ``RESULT <json>``; writes a PNG
of sample grids (``--png``).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

import mmkd_ext  # noqa: E402,F401
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

METHODS = ('baseline', 'regression', 'vkd_nonorm', 'vkd_whiten')


def classifier_cfg(width, feat_dim):
    return dict(
        type='ImageClassifier',
        backbone=dict(type='ResNet_CIFAR', depth=18, stem_channels=width,
                      base_channels=width, num_stages=4, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=feat_dim,
                  loss=dict(type='CrossEntropyLoss')))


def train_classifier(cfg, path, img_size, seed, epochs):
    """Train an MMPretrain digits classifier on the full train split (cached)."""
    from mmpretrain.registry import MODELS
    from mmkd_ext.datasets import DigitsGANDataset
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    test = DigitsGANDataset(split='test', img_size=img_size)

    def norm(u8):
        return (u8.float() - 39.6) / 73.6

    if not osp.isfile(path):
        train = DigitsGANDataset(split='train', img_size=img_size)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9,
                              weight_decay=5e-4, nesterov=True)
        steps = epochs * ((len(train) + 63) // 64)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=steps)
        model.train()
        for _ in range(epochs):
            perm = torch.randperm(len(train))
            for i in range(0, len(train), 64):
                idx = perm[i:i + 64]
                x = F.pad(norm(train.images[idx]), (2, 2, 2, 2))
                dy, dx = np.random.randint(0, 5, 2)  # random crop, pad 2
                x = x[:, :, dy:dy + img_size, dx:dx + img_size]
                logits = model.head(model.extract_feat(x))
                loss = F.cross_entropy(logits, train.labels[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        torch.save({'state_dict': model.state_dict()}, path)
    model.load_state_dict(torch.load(path, weights_only=True)['state_dict'])
    model.eval()
    with torch.no_grad():
        pred = model.head(model.extract_feat(norm(test.images))).argmax(1)
    return float((pred == test.labels).float().mean())


def build_gan(method, args, teacher_ckpt):
    from mmkd_ext.registry import MODELS
    nb = int(np.log2(args.img_size // 4))
    model = dict(
        type='DataLimitedGAN', num_classes=10, disc_steps=args.disc_steps,
        generator=dict(type='BigGANGenerator', num_classes=10, z_dim=args.z_dim,
                       ch=args.ch, bottom_width=4, num_blocks=nb),
        discriminator=dict(type='BigGANDiscriminator', num_classes=10, ch=args.ch,
                           num_blocks=nb + 1, num_down=nb),
        diffaug_policy='translation,cutout', real_hflip=False,
        ema_decay=args.ema_decay, ema_start=args.ema_start)
    if method != 'baseline':
        model['teacher'] = dict(
            type='FrozenImageEncoder',
            backbone=dict(classifier_cfg(16, 128), _scope_='mmpretrain'),
            checkpoint=teacher_ckpt, ckpt_prefixes=dict(backbone=''),
            key_hint='teacher', mean=[39.6] * 3, std=[73.6] * 3)
        if method == 'regression':
            model['discriminator']['distill_dims'] = (1024, 128)
            model['distill'] = dict(type='DiscriminatorKD', student_dim=128,
                                    teacher_dim=128, connector=None,
                                    normalizer='none', loss_weight=args.kd_weight)
        else:
            model['discriminator']['distill_dims'] = (1024, 512)
            model['distill'] = dict(
                type='DiscriminatorKD', student_dim=512, teacher_dim=128,
                connector=dict(type='OrthogonalConnector'),
                normalizer='whiten' if method == 'vkd_whiten' else 'none',
                loss_weight=args.kd_weight)
    return MODELS.build(model)


def run_one(method, seed, args, data, teacher_ckpt, metric_cfg):
    from mmkd_ext.engine import GANOptimWrapperConstructor
    from mmkd_ext.registry import METRICS
    from mmkd_ext.datasets import GANNoiseDataset
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = build_gan(method, args, teacher_ckpt).train()
    ow = GANOptimWrapperConstructor(dict(
        generator=dict(optimizer=dict(type='Adam', lr=args.lr, betas=(0.0, 0.999))),
        discriminator=dict(optimizer=dict(type='Adam', lr=args.lr,
                                          betas=(0.0, 0.999)))))(model)
    n = len(data)
    per_iter = args.batch * args.disc_steps
    t0 = time.time()
    order = torch.randperm(n)
    pos = 0
    for it in range(args.iters):
        if pos + per_iter > n:
            order, pos = torch.randperm(n), 0
        idx = order[pos:pos + per_iter] if per_iter <= n else torch.randint(
            0, n, (per_iter, ))
        pos += per_iter
        log = model.train_step(dict(inputs=data.images[idx],
                                    data_samples=data.labels[idx]), ow)
        if (it + 1) % 50 == 0:
            print(f'  {method} seed {seed} iter {it + 1}: loss_d '
                  f'{float(log["loss_d"]):.3f} loss_g {float(log["loss_g"]):.3f} '
                  f'({time.time() - t0:.0f} s)', flush=True)
    train_s = time.time() - t0
    model.eval()
    metric = METRICS.build(metric_cfg)
    noise = GANNoiseDataset(args.eval_samples, 10, args.z_dim, seed=1234)
    for i in range(0, len(noise), 200):
        out = model.val_step(dict(noise=noise.noise[i:i + 200],
                                  label=noise.labels[i:i + 200]))
        metric.process({}, out)
    res = metric.compute_metrics(metric.results)
    res['train_s'] = train_s
    res['last_loss_g'] = float(log['loss_g'])
    g = torch.Generator().manual_seed(0)
    z = torch.randn(80, args.z_dim, generator=g)
    grid = model.sample(z, torch.arange(10).repeat_interleave(8))
    return res, grid


def real_reference(metric_cfg, imgs):
    from mmkd_ext.registry import METRICS
    metric = METRICS.build(metric_cfg)
    metric.process({}, [dict(fake_img=im) for im in imgs.float() / 127.5 - 1])
    return metric.compute_metrics(metric.results)


def fmt(vals):
    vals = np.asarray(vals, dtype=float)
    return f'{vals.mean():.3f} ± {vals.std():.3f}' if len(vals) > 1 else f'{vals[0]:.3f}'


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--seeds', type=int, default=3)
    p.add_argument('--methods', nargs='+', default=list(METHODS), choices=METHODS)
    p.add_argument('--iters', type=int, default=200, help='G iterations per run')
    p.add_argument('--img-size', type=int, default=16)
    p.add_argument('--ch', type=int, default=16, help='G / D width')
    p.add_argument('--z-dim', type=int, default=64)
    p.add_argument('--batch', type=int, default=16, help='images per D step')
    p.add_argument('--disc-steps', type=int, default=2)
    p.add_argument('--lr', type=float, default=5e-4)
    p.add_argument('--ema-decay', type=float, default=0.99)
    p.add_argument('--ema-start', type=int, default=100)
    p.add_argument('--kd-weight', type=float, default=10.0)
    p.add_argument('--eval-samples', type=int, default=500)
    p.add_argument('--subset-ratio', type=float, default=0.1)
    p.add_argument('--clf-epochs', type=int, default=4)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--work-dir', default='work_dirs/benchmark/digits_gan')
    p.add_argument('--png', default='docs/digits_gan_samples.png')
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    from mmkd_ext.datasets import DigitsGANDataset
    t_start = time.time()
    pre = f'{args.work_dir}/clf_s{args.img_size}'
    metric_ckpt, teacher_ckpt = pre + '_w8_seed0.pth', pre + '_w16_seed1.pth'
    acc_metric = train_classifier(classifier_cfg(8, 64), metric_ckpt, args.img_size, 0,
                                  args.clf_epochs)
    acc_teacher = train_classifier(classifier_cfg(16, 128), teacher_ckpt, args.img_size,
                                   1, args.clf_epochs)
    print(f'metric classifier (w8) test acc {acc_metric:.4f}; teacher (w16) test acc '
          f'{acc_teacher:.4f}; {time.time() - t_start:.0f} s', flush=True)
    metric_cfg = dict(
        type='GenerativeMetric',
        feature_extractor=dict(type='ClassifierFeatureExtractor',
                               model=dict(classifier_cfg(8, 64), _scope_='mmpretrain'),
                               checkpoint=metric_ckpt, mean=[39.6] * 3, std=[73.6] * 3),
        real_dataset=dict(type='DigitsGANDataset', split='test', img_size=args.img_size),
        prdc_num=360, prdc_k=5, is_splits=10,
        real_stats_cache=f'{pre}_w8_seed0_test_feats.npz')
    data = DigitsGANDataset(split='train', img_size=args.img_size,
                            subset_ratio=args.subset_ratio, subset_seed=0)
    refs = {'real train 10% (144)': real_reference(metric_cfg, data.images),
            'real train 100% (1437)': real_reference(
                metric_cfg, DigitsGANDataset(split='train', img_size=args.img_size).images)}
    results, grids = {m: [] for m in args.methods}, {}
    for seed in range(args.seeds):
        for method in args.methods:
            res, grid = run_one(method, seed, args, data, teacher_ckpt, metric_cfg)
            results[method].append(res)
            if seed == 0:
                grids[method] = grid
            print(f'seed {seed} {method}: FID {res["FID"]:.3f} P {res["precision"]:.3f}'
                  f' R {res["recall"]:.3f} D {res["density"]:.3f} C '
                  f'{res["coverage"]:.3f} IS {res["IS"]:.3f} ({res["train_s"]:.0f} s)',
                  flush=True)
        # after every seed: table, PNG and RESULT so far (the last one is final)
        report(args, seed + 1, results, grids, refs, acc_metric, acc_teacher, t_start)


def report(args, n_seeds, results, grids, refs, acc_metric, acc_teacher, t_start):
    keys = ('FID', 'precision', 'recall', 'density', 'coverage', 'IS')
    print(f'\nDigits, {args.subset_ratio:.0%} of the training images, {args.iters} G '
          f'iterations, {args.img_size}x{args.img_size}, width {args.ch}, '
          f'{n_seeds} seed(s); features of the w8 digits classifier '
          f'(test acc {acc_metric:.3f}); teacher w16 (test acc {acc_teacher:.3f})\n')
    print('| method | ' + ' | '.join(keys) + ' | train s/run |')
    print('|---' * (len(keys) + 2) + '|')
    for name, ref in refs.items():
        print(f'| {name} | ' + ' | '.join(f'{ref[k]:.3f}' for k in keys) + ' | - |')
    summary = {}
    for method, runs in results.items():
        summary[method] = {k: [r[k] for r in runs] for k in keys + ('train_s', )}
        print(f'| {method} | ' + ' | '.join(fmt(summary[method][k]) for k in keys) +
              f' | {np.mean(summary[method]["train_s"]):.0f} |')
    if args.png and grids:
        from torchvision.utils import make_grid, save_image
        os.makedirs(osp.dirname(args.png) or '.', exist_ok=True)
        tiles = [make_grid((grids[m].float() + 1) / 2, nrow=8, padding=1, pad_value=1)
                 for m in args.methods]
        save_image(torch.cat([F.pad(t, (2, 2, 0, 0), value=1) for t in tiles], 2),
                   args.png)
        print(f'\nsample grids (seed 0; columns: {", ".join(args.methods)}; rows: '
              f'classes 0-9): {args.png}')
    total = time.time() - t_start
    print(f'total {total:.0f} s')
    print('RESULT ' + json.dumps(dict(
        args=vars(args), seeds_done=n_seeds,
        classifier_acc=dict(metric=acc_metric, teacher=acc_teacher),
        reference={k: {m: v[m] for m in keys} for k, v in refs.items()},
        runs=summary, total_s=total)), flush=True)


if __name__ == '__main__':
    main()
