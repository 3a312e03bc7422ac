"""The full NCKD digits config trains through tools/train.py, logs NC metrics at
validation, keeps the bank in its checkpoints and resumes; the analysis tools run."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CFG = 'configs/nckd/nckd_resnet18-w8_resnet18-w32_20e_digits.py'
TEACHER_CFG = 'configs/digits/resnet18-w32_20e_digits.py'
TINY = [
    'train_dataloader.dataset.subset_ratio=0.06',
    'val_dataloader.dataset.subset_ratio=0.1', 'default_hooks.logger.interval=1',
    'param_scheduler.T_max=2'
]


def run(args):
    t0 = time.time()
    res = subprocess.run(
        [sys.executable] + args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    print(f'{args[0]}: {time.time() - t0:.1f}s')
    return res.stdout + res.stderr


def run_tool_main(load_tool, script, argv, capsys):
    """Run a tool's main() in this process (its imports are already paid for)."""
    load_tool(script).main(argv)
    captured = capsys.readouterr()
    return captured.out + captured.err


def random_teacher(tmp_path):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, TEACHER_CFG))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def val_scalars(work_dir):
    lines = []
    for f in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(f) as fh:
            lines += [json.loads(line) for line in fh if 'nc/nc1' in line]
    return lines


def test_nckd_config_trains_logs_nc_metrics_and_resumes(tmp_path, capsys, load_tool):
    from mmkd_ext.models.utils.checkpoint import safe_torch_load
    teacher = random_teacher(tmp_path)
    work = str(tmp_path / 'work')
    common = [f'model.teacher_ckpt={teacher}'] + TINY
    run([
        'tools/train.py', CFG, '--work-dir', work, '--cfg-options',
        'train_cfg.max_epochs=1'
    ] + common)
    scalars = val_scalars(work)
    assert scalars, 'no validation log with NC metrics'
    for key in ('nc/nc1', 'nc/nc2_etf_error', 'nc/nc3_self_duality', 'nc/nc3_mean_cosine',
                'teacher.nc/nc1', 'accuracy/top1'):
        assert key in scalars[-1] and scalars[-1][key] == scalars[-1][key], key
    train_logs = [
        json.loads(line)
        for f in glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))
        for line in open(f) if 'loss' in line
    ]
    assert all('distill.loss_nc1' in r and 'distill.loss_nc2' in r for r in train_logs)
    ckpt = safe_torch_load(osp.join(work, 'epoch_1.pth'))['state_dict']
    counts_key = 'distiller.bank.counts'  # the one bank, owned by NCKDDistiller
    n1 = float(ckpt[counts_key].sum())
    assert n1 == round(1437 * 0.06)  # every training sample of the epoch, once
    assert not any('bank' in k for k in ckpt if not k.startswith('distiller.bank.'))
    # the student head keeps the bank's prototypes for evaluation without the bank
    from mmkd_ext.models.utils.neural_collapse import centered_normalized
    seen = ckpt[counts_key] > 0
    torch.testing.assert_close(ckpt['architecture.head.fc.prototypes'],
                               centered_normalized(ckpt['distiller.bank.means'], seen)[0])
    # resume for a second epoch: the bank continues from the checkpoint
    run([
        'tools/train.py', CFG, '--work-dir', work, '--resume', '--cfg-options',
        'train_cfg.max_epochs=2'
    ] + common)
    ckpt2 = safe_torch_load(osp.join(work, 'epoch_2.pth'))['state_dict']
    assert float(ckpt2[counts_key].sum()) == 2 * n1  # same subset size each epoch
    # analysis tools on the produced checkpoints
    protos = str(tmp_path / 'protos.pth')
    out = run_tool_main(load_tool, 'tools/analysis_tools/extract_prototypes.py', [
        osp.join(ROOT, CFG), teacher, '--out', protos, '--model-key', 'teacher',
        '--cfg-options', 'train_dataloader.dataset.subset_ratio=0.1'
    ], capsys)
    assert 'saved prototypes (10, 256)' in out
    data = safe_torch_load(protos)
    assert data['prototypes'].shape == (10, 256) and int(data['counts'].sum()) == 144
    report = str(tmp_path / 'report')
    out = run_tool_main(load_tool, 'tools/analysis_tools/nc_report.py', [
        osp.join(ROOT, TEACHER_CFG), teacher,
        osp.join(ROOT, CFG),
        osp.join(work, 'epoch_2.pth'), '--out-dir', report, '--tsne', '--split', 'val',
        '--cfg-options', 'val_dataloader.dataset.subset_ratio=0.2'
    ], capsys)
    assert '| nc1 |' in out
    for name in ('nc_metrics.json', 'nc_metrics.png', 'tsne.png'):
        assert os.path.getsize(osp.join(report, name)) > 0
