"""Train a model (plain, distillation or GAN) from an mmkd_ext / OpenMMLab config.

Same command line as MMDetection's / MMPretrain's ``tools/train.py``::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmkd_ext  # noqa: F401  (applies mmkd_ext.compat, registers modules)
from mmkd_ext.compat import adapt_cfg_for_cpu_distributed
from mmkd_ext.utils.run_cfg import add_runner_options, load_cfg, parse_runner_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision (float16 on CUDA, bfloat16 on CPU)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from the '
        'latest checkpoint in the work directory')
    add_runner_options(
        parser, 'override settings of the config, key=value (e.g. '
        'model.teacher_ckpt=work_dirs/teacher/epoch_20.pth)')
    return parse_runner_args(parser, argv)


def build_cfg(args):
    cfg = load_cfg(args)
    if args.amp:
        enable_amp(cfg)
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise RuntimeError('--auto-scale-lr needs `auto_scale_lr.base_batch_size` '
                               'in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def enable_amp(cfg):
    """Switch the optimizer wrapper(s) to mixed precision: MMEngine's
    ``AmpOptimWrapper`` (float16, dynamic loss scale) on CUDA; without CUDA,
    mmkd_ext's ``AutocastOptimWrapper`` (bfloat16 CPU autocast)."""
    import torch
    on_cuda = torch.cuda.is_available()
    wrapper = cfg.optim_wrapper

    def to_amp(w):
        if w.get('type', 'OptimWrapper') in ('AmpOptimWrapper', 'AutocastOptimWrapper'):
            return
        if on_cuda:
            w.type = 'AmpOptimWrapper'
            w.loss_scale = 'dynamic'
        else:
            w.type = 'AutocastOptimWrapper'
            w.dtype = 'bfloat16'

    if wrapper.get('constructor') is not None and 'optimizer' not in wrapper:
        for w in wrapper.values():  # OptimWrapperDict style (GAN): one per model
            if isinstance(w, dict) and 'optimizer' in w:
                to_amp(w)
    else:
        to_amp(wrapper)


def check_inputs(cfg, config_path):
    """Stop with one short message when data or checkpoints of ``cfg`` are missing
    (``mmkd_ext.utils.preflight``), before anything is built."""
    from mmkd_ext.utils.preflight import format_missing, missing_inputs
    missing = missing_inputs(cfg, stage='train')
    if missing:
        raise SystemExit(format_missing(config_path, cfg, missing, action='train'))


def main(argv=None):
    args = parse_args(argv)
    cfg = adapt_cfg_for_cpu_distributed(build_cfg(args))
    check_inputs(cfg, args.config)
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    runner.train()
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        # shut gloo down before interpreter exit: left to exit, a rank sometimes
        # aborts ('terminate called without an active exception') after training
        # finished, failing the launch (seen about 1 run in 5 of the two-rank test)
        dist.barrier()
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
