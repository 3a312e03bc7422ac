"""Evaluate a checkpoint with the config's test loop.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out FILE]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm|mpi]
"""
import argparse
import os.path as osp

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmkd_ext  # noqa: F401
from mmkd_ext.compat import adapt_cfg_for_cpu_distributed
from mmkd_ext.utils.run_cfg import add_runner_options, load_cfg, parse_runner_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dump the metrics to this json/yaml/pkl file')
    add_runner_options(parser)
    return parse_runner_args(parser, argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file "{args.config}" does not exist')
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint "{args.checkpoint}" does not exist')
    cfg = load_cfg(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    adapt_cfg_for_cpu_distributed(cfg)
    from mmkd_ext.utils.preflight import format_missing, missing_inputs
    missing = missing_inputs(cfg, stage='test')
    if missing:
        raise SystemExit(format_missing(args.config, cfg, missing, action='test'))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    metrics = runner.test()
    if args.out:
        from mmengine.fileio import dump
        dump({
            k: float(v) if hasattr(v, '__float__') else v
            for k, v in metrics.items()
        }, args.out)
    return metrics


if __name__ == '__main__':
    main()
