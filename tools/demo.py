"""`make demo`: the main job end to end on the embedded digits detection set.

1. builds the COCO-format digits set (tools/dataset_converters/make_digits_coco.py);
2. trains, through the ordinary runner (tools/train.py), a ViDT Swin-tiny teacher, a
   ViDT Swin-nano baseline and the VKD Swin-nano student
   (configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py) distilled from that
   teacher;
3. each run ends with MMDet's COCO evaluation (CocoMetric) on the val split; prints an
   AP table and a final ``RESULT <json>`` line.

    python tools/demo.py [--epochs N] [--teacher-epochs N] [--num-train N]
                          [--work-dir DIR]

The teacher trains twice as long as the students (14 against 7 epochs by default) so
that it is clearly stronger than the nano it teaches (with equal budgets the Swin-tiny
teacher scored below the nano alone: a demo of nothing). One run of each is a
demonstration, not a result: the paired study is tools/benchmark/digits_det.py.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RUNS = [
    ('teacher ViDT Swin-tiny', 'configs/vidt/vidt_swin-tiny_12e_digits.py', 'teacher'),
    ('baseline ViDT Swin-nano', 'configs/vidt/vidt_swin-nano_12e_digits.py', 'baseline'),
    ('VKD ViDT Swin-nano', 'configs/vkd/vkd_vidt-swin-nano_vidt-swin-tiny_12e_digits.py',
     'vkd'),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--data-root', default='data/digits_coco')
    p.add_argument(
        '--epochs',
        type=int,
        default=7,
        help='epochs of the two students (0: as configured, 12)')
    p.add_argument(
        '--teacher-epochs',
        type=int,
        default=14,
        help='epochs of the teacher (0: as configured, 12); longer than the '
        'students so that the teacher is stronger')
    p.add_argument('--num-train', type=int, default=400)
    p.add_argument('--num-val', type=int, default=50)
    p.add_argument(
        '--skip', nargs='*', default=[], choices=['teacher', 'baseline', 'vkd'])
    return p.parse_args()


def latest(pattern):
    files = sorted(glob.glob(pattern), key=osp.getmtime)
    return files[-1] if files else None


def read_metrics(work_dir):
    """Last CocoMetric entry of the run's scalars.json."""
    path = latest(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    metrics = {}
    if path:
        for line in open(path):
            entry = json.loads(line)
            if 'coco/bbox_mAP' in entry:
                metrics = entry
    return metrics


def train(name, config, work_dir, options, t0):
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir]
    if options:
        cmd += ['--cfg-options'] + options
    print(f'\n[{time.time() - t0:6.0f}s] === {name}: {" ".join(cmd[1:])}', flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    start = time.time()
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)
    tail = []
    for line in proc.stdout:
        tail = (tail + [line])[-60:]
        m = re.search(
            r'Epoch\(train\)\s*(\[\d+\]\[\s*\d+/\d+\]).*?eta: (\S+).*?'
            r'time: (\S+).*? loss: (\S+)', line)
        if m:
            print(
                f'[{time.time() - t0:6.0f}s]   {name} {m.group(1)} loss {m.group(4)} '
                f'({m.group(3)} s/iter, eta {m.group(2)})',
                flush=True)
        elif 'coco/bbox_mAP:' in line:
            ap = re.search(r'coco/bbox_mAP: \S+\s+coco/bbox_mAP_50: \S+', line)
            print(
                f'[{time.time() - t0:6.0f}s]   {name} COCO eval: '
                f'{ap.group(0) if ap else line.strip()[-120:]}',
                flush=True)
        elif 'Error' in line:
            print(line.rstrip(), flush=True)
    if proc.wait() != 0:
        sys.stdout.write(''.join(tail))
        raise SystemExit(f'{name} failed (exit {proc.returncode}); log in {work_dir}')
    return time.time() - start


def load_sibling(rel):
    """The module of the tool ``tools/<rel>``, loaded by path: ``tools/`` is a folder
    of scripts, not a package, and is not put on ``sys.path``."""
    import importlib.util
    path = osp.join(REPO, 'tools', rel)
    name = osp.splitext(osp.basename(rel))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    args = parse_args()
    t0 = time.time()
    os.chdir(REPO)
    converter = load_sibling('dataset_converters/make_digits_coco.py')
    # reuse the set only when its manifest says it is the one asked for
    converter.prepare_digits_coco(
        args.data_root,
        args.num_train,
        args.num_val,
        log=lambda msg: print(msg, flush=True))
    data_opts = [
        f'train_dataloader.dataset.data_root={args.data_root}/',
        f'val_dataloader.dataset.data_root={args.data_root}/',
        f'test_dataloader.dataset.data_root={args.data_root}/',
        f'val_evaluator.ann_file={args.data_root}/annotations/'
        'instances_val.json', f'test_evaluator.ann_file={args.data_root}/annotations/'
        'instances_val.json'
    ]

    def schedule(epochs):
        if not epochs:
            return []
        return [
            f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
            f'param_scheduler.0.T_max={epochs}', f'param_scheduler.0.end={epochs}',
            f'default_hooks.checkpoint.interval={epochs}'
        ]

    rows = []
    teacher_ckpt = None
    for name, config, key in RUNS:
        work_dir = osp.join(args.work_dir, key)
        opts = data_opts + schedule(args.teacher_epochs if key ==
                                    'teacher' else args.epochs)
        if key == 'vkd':
            if teacher_ckpt is None:
                teacher_ckpt = latest(osp.join(args.work_dir, 'teacher', 'epoch_*.pth'))
            if teacher_ckpt is None:
                raise SystemExit('no teacher checkpoint: run without --skip teacher')
            opts.append(f'model.teacher_ckpt={teacher_ckpt}')
        seconds = float('nan')
        if key not in args.skip:
            seconds = train(name, config, work_dir, opts, t0)
        if key == 'teacher':
            teacher_ckpt = latest(osp.join(work_dir, 'epoch_*.pth'))
        m = read_metrics(work_dir)
        rows.append(
            dict(
                model=name,
                config=config,
                AP=m.get('coco/bbox_mAP'),
                AP50=m.get('coco/bbox_mAP_50'),
                AP75=m.get('coco/bbox_mAP_75'),
                train_s=round(seconds, 1)))
    print('\nDemo: one run of each on the digits COCO set (400 train / 50 val images). '
          'One run is a demonstration, not a result: the paired multi-seed study is '
          'tools/benchmark/digits_det.py (docs/studies.md).')
    print('\n| role | model | epochs | AP | AP50 | AP75 | train time (s) |')
    print('|---|---|---|---|---|---|---|')
    roles = dict(teacher='teacher', baseline='student, no teacher', vkd='student, VKD')
    for (name, _, key), r in zip(RUNS, rows):
        fmt = lambda v: '-' if v is None else f'{100 * v:.1f}'  # noqa: E731
        ep = args.teacher_epochs if key == 'teacher' else args.epochs
        print(f"| {roles[key]} | {r['model']} | {ep or 'as configured'} | "
              f"{fmt(r['AP'])} | {fmt(r['AP50'])} | {fmt(r['AP75'])} | {r['train_s']} |")
    print(f'total time {time.time() - t0:.0f}s')
    print('RESULT ' + json.dumps(dict(runs=rows, total_s=round(time.time() - t0, 1))))


if __name__ == '__main__':
    main()
