"""Training a shipped config for a study: the overrides, one forked run, many."""
import json
import os
import os.path as osp
import time
from typing import Dict, Optional


def _set_schedule_length(cfg, length: int, by_epoch: bool):
    """Put ``length`` (epochs or iterations) into every scheduler that spans the
    whole run (``T_max`` / ``end`` equal to the configured length)."""
    old = cfg.train_cfg.get('max_epochs' if by_epoch else 'max_iters')
    scheds = cfg.get('param_scheduler')
    if scheds is None:
        return
    for s in (scheds if isinstance(scheds, (list, tuple)) else [scheds]):
        if s.get('by_epoch', True) != by_epoch:
            continue
        for key in ('T_max', 'end'):
            if key in s and (old is None or s[key] == old or s[key] > length):
                s[key] = length


def apply_overrides(cfg,
                    work_dir: str,
                    seed: int,
                    epochs: Optional[int] = None,
                    iters: Optional[int] = None,
                    data_fraction: Optional[float] = None,
                    teacher_ckpt: Optional[str] = None):
    """The only changes a study makes to a shipped config: the seed, the paths, the
    budget (epochs or iterations, with the schedulers that span the run, one
    validation and one checkpoint at the end) and, if given, the fraction of the
    training split (``train_dataloader.dataset.subset_ratio``, subset chosen by
    ``subset_seed = seed``). Returns ``cfg`` (an mmengine ``Config``, edited in place).
    """
    cfg.work_dir = work_dir
    randomness = dict(cfg.get('randomness') or {})
    randomness['seed'] = int(seed)
    randomness.setdefault('deterministic', False)
    cfg.randomness = randomness
    if epochs is not None and iters is not None:
        raise ValueError('apply_overrides: give epochs or iters, not both')
    length = epochs if epochs is not None else iters
    if length is not None:
        by_epoch = epochs is not None
        key, given, other, kind = ('max_epochs', 'epochs', 'iters', 'iteration') \
            if by_epoch else ('max_iters', 'iters', 'epochs', 'epoch')
        if key not in cfg.train_cfg:
            raise ValueError(f'train_cfg has no {key} (an {kind}-based config?): '
                             f'use {other}, got {given}={length}')
        _set_schedule_length(cfg, length, by_epoch=by_epoch)
        cfg.train_cfg[key] = length
    else:
        length = cfg.train_cfg.get('max_epochs', cfg.train_cfg.get('max_iters'))
    cfg.train_cfg.val_interval = length
    ckpt = cfg.default_hooks.get('checkpoint')
    if ckpt is not None:
        ckpt.interval = length
        ckpt.max_keep_ckpts = 1
        if ckpt.get('save_best') is not None:
            ckpt.save_best = None  # one checkpoint, the last
    for hook in cfg.get('custom_hooks', []) or []:
        if 'interval' in hook and hook['type'].endswith('SampleGridHook'):
            hook['interval'] = length
    if data_fraction is not None:
        ds = cfg.train_dataloader.dataset
        if 'subset_ratio' not in ds and ds.get(
                'type', '').split('.')[-1] not in ('DigitsDataset', 'DigitsGANDataset'):
            raise ValueError(f'train_dataloader.dataset ({ds.get("type")}) has no '
                             f'subset_ratio: a data fraction needs a dataset that '
                             f'supports it')
        ds.subset_ratio = float(data_fraction)
        ds.subset_seed = int(seed)
    if teacher_ckpt is not None:
        if 'teacher_ckpt' not in cfg.model:
            raise ValueError('model.teacher_ckpt is missing: the config is not a '
                             'single-teacher distillation config')
        cfg.model.teacher_ckpt = teacher_ckpt
    cfg.log_level = 'WARNING'
    return cfg


def _flatten(obj, prefix=''):
    """Config dict -> ``{dotted key: value}`` (list items with dicts by index, as
    ``--cfg-options`` addresses them: ``param_scheduler.0.T_max``)."""
    if isinstance(obj, dict):
        items = obj.items()
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, dict) for v in obj):
        items = enumerate(obj)
    else:
        return {prefix[:-1]: obj}
    out = {}
    for k, v in items:
        out.update(_flatten(v, f'{prefix}{k}.'))
    return out


def _option_value(v) -> str:
    """A value as MMEngine's ``DictAction`` parses it back."""
    if isinstance(v, (list, tuple)):
        inner = ','.join(_option_value(x) for x in v)
        return f'[{inner}]' if isinstance(v, list) else f'({inner})'
    if isinstance(v, str) and (',' in v or ' ' in v or not v):
        raise ValueError(f'cannot pass the string {v!r} through --cfg-options')
    return str(v)


def train_command(config: str,
                  work_dir: str,
                  seed: int,
                  cfg_options: Optional[dict] = None,
                  **overrides):
    """The ``tools/train.py`` command that trains what :func:`run_config` trains:
    every key :func:`apply_overrides` (with ``overrides``) and ``cfg_options``
    change in ``config``, as ``--cfg-options`` (a removed key becomes ``=None``).
    Returns ``(command, path of the run's last checkpoint)``."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    before = _flatten(cfg.to_dict())
    apply_overrides(cfg, work_dir, seed, **overrides)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    after = _flatten(cfg.to_dict())
    opts = [
        f'{k}={_option_value(v)}' for k, v in after.items()
        if k not in ('work_dir', 'log_level') and (
            k not in before or before[k] != v or k == 'randomness.seed')
    ]
    opts += [f'{k}=None' for k in before if k not in after]
    tc = cfg.train_cfg
    last = f'epoch_{tc.max_epochs}.pth' if 'max_epochs' in tc else \
        f'iter_{tc.max_iters}.pth'
    return (f'python tools/train.py {config} --work-dir {work_dir} --cfg-options ' +
            ' '.join(opts)), osp.join(work_dir, last)


def paired_streams_configured(config: str) -> bool:
    """Whether ``config`` re-seeds before weight init and training (an
    ``RNGStateHook`` with ``paired_streams`` on in ``default_hooks``), which makes runs
    with the same seed paired across methods (docs/studies.md)."""
    from mmengine.config import Config
    hooks = Config.fromfile(config).get('default_hooks') or {}
    return any(
        isinstance(h, dict) and str(h.get('type', '')).endswith('RNGStateHook')
        and h.get('paired_streams', True) for h in hooks.values())


def unpaired_warning(configs: Dict[str, str]) -> Optional[str]:
    """A warning naming the configs without paired RNG streams, or ``None``."""
    bad = [f'{k} ({c})' for k, c in configs.items() if not paired_streams_configured(c)]
    if not bad:
        return None
    return ('WARNING: not paired: ' + ', '.join(bad) + ' lack(s) '
            "default_hooks.rng_state=dict(type='mmkd_ext.RNGStateHook'); the same "
            'seed then gives the students different initial weights / streams')


def _train_child(config, work_dir, seed, kwargs, cfg_options, threads, out_file):
    """Body of one run (in a forked process): build the runner, train, write the
    last validation metrics to ``out_file``."""
    import torch
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    if threads:
        torch.set_num_threads(threads)
    import logging

    from mmengine.logging import MMLogger

    class _Quiet(logging.Filter):  # notices repeated by every run

        def filter(self, record):
            msg = record.getMessage()
            return not any(
                s in msg for s in ('will be deprecated', '`save_param_scheduler` is True',
                                   'is skipped since its requires_grad=False'))

    cfg = Config.fromfile(config)
    apply_overrides(cfg, work_dir, seed, **kwargs)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)

    class _Catch(Hook):
        metrics = {}

        def after_val_epoch(self, runner, metrics=None):
            _Catch.metrics = {
                k: float(v)
                for k, v in (metrics or {}).items()
                if isinstance(v, (int, float)) or getattr(v, 'numel', lambda: 0)() == 1
            }

    runner = Runner.from_cfg(cfg)
    for handler in MMLogger.get_current_instance().handlers:
        handler.addFilter(_Quiet())
    runner.register_hook(_Catch(), 'LOWEST')
    t0 = time.perf_counter()
    runner.train()
    train_s = time.perf_counter() - t0
    last = osp.join(work_dir, 'last_checkpoint')
    ckpt = open(last).read().strip() if osp.isfile(last) else None
    with open(out_file, 'w') as f:
        json.dump(dict(metrics=_Catch.metrics, train_seconds=train_s, checkpoint=ckpt), f)


def _prepare(config,
             work_dir,
             seed,
             epochs=None,
             iters=None,
             data_fraction=None,
             teacher_ckpt=None,
             cfg_options=None,
             threads=1):
    if not osp.isfile(config):
        raise FileNotFoundError(
            f'study config {config!r} does not exist (renamed? edit the CONFIGS table '
            f'at the top of the study script)')
    os.makedirs(work_dir, exist_ok=True)
    out_file = osp.join(work_dir, 'study_result.json')
    if osp.isfile(out_file):
        os.remove(out_file)
    kwargs = dict(
        epochs=epochs,
        iters=iters,
        data_fraction=data_fraction,
        teacher_ckpt=teacher_ckpt)
    return (osp.abspath(config), osp.abspath(work_dir), seed, kwargs, cfg_options,
            threads, out_file)


def _collect(args, t0, exitcode=0):
    config, work_dir, seed, out_file = args[0], args[1], args[2], args[-1]
    if exitcode != 0 or not osp.isfile(out_file):
        raise RuntimeError(f'training {config} (seed {seed}) failed with exit code '
                           f'{exitcode}; logs in {work_dir}')
    with open(out_file) as f:
        res = json.load(f)
    res['seconds'] = time.perf_counter() - t0
    return res


def run_config(config: str,
               work_dir: str,
               seed: int,
               *,
               epochs: Optional[int] = None,
               iters: Optional[int] = None,
               data_fraction: Optional[float] = None,
               teacher_ckpt: Optional[str] = None,
               cfg_options: Optional[dict] = None,
               threads: int = 1,
               fork: bool = True) -> dict:
    """Train a shipped config with MMEngine's ``Runner`` (``Config.fromfile`` +
    ``Runner.from_cfg``, as ``tools/train.py``), changed only by
    :func:`apply_overrides`. Each run is a forked child of the study process: the
    libraries are imported once, and no state (registries, prototype banks, RNGs,
    loggers) leaks from one run into the next.

    Returns ``dict(metrics=<last validation metrics>, train_seconds, seconds,
    checkpoint=<last checkpoint or None>)``.
    """
    import multiprocessing as mp
    args = _prepare(config, work_dir, seed, epochs, iters, data_fraction, teacher_ckpt,
                    cfg_options, threads)
    t0 = time.perf_counter()
    if not fork:
        _train_child(*args)
        return _collect(args, t0)
    proc = mp.get_context('fork').Process(target=_train_child, args=args)
    proc.start()
    proc.join()
    return _collect(args, t0, proc.exitcode)


def run_configs(tasks, jobs: int = 1, on_done=None) -> None:
    """Run ``tasks`` (``[(key, run_config keyword arguments incl. config, work_dir,
    seed)]``), at most ``jobs`` forked runs at a time (each with its own
    ``threads``), calling ``on_done(key, result)`` in the parent as each finishes, so
    the caller records every run as soon as it is done. A failed run raises after the
    runs still going have finished (and been recorded)."""
    import multiprocessing as mp
    pending, running, failure = list(tasks), {}, None
    while pending or running:
        while pending and len(running) < max(1, jobs) and failure is None:
            key, kw = pending.pop(0)
            kw = dict(kw)
            args = _prepare(kw.pop('config'), kw.pop('work_dir'), kw.pop('seed'), **kw)
            proc = mp.get_context('fork').Process(target=_train_child, args=args)
            proc.start()
            running[key] = (proc, args, time.perf_counter())
        if failure is not None:
            pending = []
        finished = [k for k, (p, _, _) in running.items() if not p.is_alive()]
        if not finished:
            time.sleep(0.2)
            continue
        for key in finished:
            proc, args, t0 = running.pop(key)
            proc.join()
            try:
                res = _collect(args, t0, proc.exitcode)
            except RuntimeError as err:
                failure = failure or err
                continue
            if on_done is not None:
                on_done(key, res)
    if failure is not None:
        raise failure
