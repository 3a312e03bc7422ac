"""The hot paths' ratios on one device, with torch and mmkd_ext's pure-torch maths only.

Run by ``tools/benchmark/gpu_check.sh`` (which also runs the pure-torch unit tests on
the device); it imports no OpenMMLab package (``pure_torch.py`` blocks them), so it runs
on a GPU machine without MMCV / MMEngine / MMRazor. Three timings, each a ratio
measured in the same run, interleaved rounds, medians:

* P1, orthogonal projector vs ``nn.Linear``: forward + backward (input requiring grad,
  weight gradient) of ``gram_linear(x, X, 'cholesky_qr')`` (what
  ``OrthogonalConnector`` computes, its default map) over ``F.linear(x, W)`` at the
  shapes of ``connector_overhead.py`` (N x d_s -> d_t) plus the full step's batch 32;
* P5, whitening vs its FLOP floor (``whitening_floor.py``, 256 x 512, training mode);
* the VKD loss (smooth L1, eq. 5) forward + backward on (N, 3024) over the bare
  ``F.smooth_l1_loss`` (the wrapper's cost; its absolute time is printed too).

CPU (``--device cpu``, default one thread, process CPU time) gives the numbers of
docs/vkd.md; CUDA uses wall time with synchronisation. Prints a table and
``RESULT <json>``; ``--json FILE`` writes the same dict.

    python tools/benchmark/gpu_check.py --device cuda
    python tools/benchmark/gpu_check.py --device cpu --quick
"""
import argparse
import json
import sys
import time

import pure_torch
import torch
import torch.nn.functional as F
import whitening_floor

PROJ_SHAPES = ['32x192x3024', '256x192x3024', '256x384x3024', '2048x256x256']
LOSS_ROWS = [32, 256]


def _table(title, header, rows):
    """Print ``title`` after a blank line, then a markdown table."""
    print(f'\n{title}')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for cells in rows:
        print('| ' + ' | '.join(map(str, cells)) + ' |')


def _timer(device, clock):
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    tick = time.process_time if clock == 'cpu' else time.perf_counter

    def timed(fns, repeats):
        """Median seconds of each fn (``whitening_floor.median_times``)."""
        return whitening_floor.median_times(fns, repeats, sync, tick)

    return timed


def projector_ratios(device, timed, repeats, shapes):
    orth = pure_torch.load('mmkd_ext.models.utils.orthogonal')
    out = {}
    for shape in shapes:
        n, d_s, d_t = (int(v) for v in shape.split('x'))
        g = torch.Generator().manual_seed(0)
        x = torch.randn(n, d_s, generator=g).to(device).requires_grad_()
        X = orth.random_orthonormal(d_t, d_s, generator=g).to(device).requires_grad_()
        W = (torch.randn(d_t, d_s, generator=g) / d_s**0.5).to(device).requires_grad_()

        def lin():
            W.grad = x.grad = None
            F.linear(x, W).square().mean().backward()

        def ortho():
            X.grad = x.grad = None
            orth.gram_linear(x, X, 'cholesky_qr').square().mean().backward()

        t = timed(dict(linear=lin, ortho=ortho), repeats)
        out[shape] = dict(
            linear_ms=t['linear'] * 1e3,
            ortho_ms=t['ortho'] * 1e3,
            ratio=t['ortho'] / t['linear'])
    return out


def loss_ratios(device, timed, repeats, rows_list):
    fn = pure_torch.load('mmkd_ext.models.losses.functional')
    out = {}
    for rows in rows_list:
        g = torch.Generator().manual_seed(0)
        s = torch.randn(rows, 3024, generator=g).to(device).requires_grad_()
        t = torch.randn(rows, 3024, generator=g).to(device)

        def vkd():
            s.grad = None
            fn.vkd_feature_loss(s, t).backward()

        def bare():
            s.grad = None
            F.smooth_l1_loss(s, t).backward()

        r = timed(dict(vkd=vkd, bare=bare), repeats)
        out[f'{rows}x3024'] = dict(
            vkd_ms=r['vkd'] * 1e3, bare_ms=r['bare'] * 1e3, ratio=r['vkd'] / r['bare'])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int, default=1, help='CPU threads')
    parser.add_argument(
        '--clock',
        choices=['wall', 'cpu'],
        default=None,
        help='default: cpu (process CPU time) on CPU, wall on CUDA')
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument(
        '--quick', action='store_true', help='5 repeats, 2 projector shapes')
    parser.add_argument('--json', default=None, help='also write RESULT here')
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch.cuda.is_available() is False on this '
                     'machine (use --device cpu)')
    clock = args.clock or ('cpu' if device.type == 'cpu' else 'wall')
    if device.type == 'cpu' and args.threads:
        torch.set_num_threads(args.threads)
    repeats = 5 if args.quick else args.repeats
    shapes = PROJ_SHAPES[:2] if args.quick else PROJ_SHAPES
    timed = _timer(device, clock)
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    print(f'device: {device} ({name}; torch {torch.__version__}; '
          f'{torch.get_num_threads()} CPU threads, {clock} clock, {repeats} repeats)')

    proj = projector_ratios(device, timed, repeats, shapes)
    _table('P1: orthogonal projector (cholesky_qr, forward + backward) vs nn.Linear',
           ['N x d_s -> d_t', 'Linear (ms)', 'cholesky_qr (ms)', 'vs Linear'],
           [(shape, f'{r["linear_ms"]:.3f}', f'{r["ortho_ms"]:.3f}', f'{r["ratio"]:.2f}x')
            for shape, r in proj.items()])

    wargs = argparse.Namespace(
        n=256,
        d=512,
        eps=1e-3,
        methods=['cholesky', 'zca'],
        repeats=repeats,
        clock=clock,
        device=str(device))
    white = whitening_floor.run(wargs)
    _table(
        f'P5: whitening 256 x 512 vs its FLOP floor (GEMM {white["rate"] / 1e9:.1f} '
        'GFLOP/s in this run)',
        ['method', 'implementation', 'time (ms)', 'floor (ms)', 'x floor', 'rel err'],
        [(m, impl, f'{t * 1e3:.3f}', f'{floor * 1e3:.3f}', f'{r:.2f}x', f'{err:.1e}')
         for m, impl, t, floor, r, err in white['rows']])

    loss = loss_ratios(device, timed, repeats, LOSS_ROWS)
    _table('VKD loss (smooth L1, forward + backward) vs bare F.smooth_l1_loss',
           ['N x 3024', 'vkd_feature_loss (ms)', 'F.smooth_l1_loss (ms)', 'ratio'],
           [(shape, f'{r["vkd_ms"]:.4f}', f'{r["bare_ms"]:.4f}', f'{r["ratio"]:.2f}x')
            for shape, r in loss.items()])

    result = dict(
        device=str(device),
        device_name=name,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        clock=clock,
        repeats=repeats,
        projector_vs_linear={
            k: round(v['ratio'], 3)
            for k, v in proj.items()
        },
        whitening_vs_floor=white['ratios'],
        whitening_rel_err=white['errors'],
        vkd_loss_ms={
            k: round(v['vkd_ms'], 4)
            for k, v in loss.items()
        },
        vkd_loss_vs_bare={
            k: round(v['ratio'], 3)
            for k, v in loss.items()
        })
    print('RESULT ' + json.dumps(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)
    leaked = sorted(m for m in sys.modules if m.split('.')[0] in pure_torch.OPENMMLAB)
    if leaked:  # cannot happen with the blocker; a guard for a changed pure_torch
        raise SystemExit(f'gpu_check: OpenMMLab modules were imported: {leaked[:5]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
