"""FeatureWhitener's batch whitening against its FLOP floor, measured in the same run.

The floor of whitening N tokens of d channels (docs/vkd.md, "Whitening at its FLOP
floor") is the FLOP count of the operations any method must do, charged at the GEMM
rate measured in this run (the covariance GEMM ``Zc^T Zc``, (d x N) @ (N x d), timed
in the same interleaved rounds):

* Cholesky: covariance ``2 N d^2`` + Cholesky ``d^3 / 3`` + triangular solve ``N d^2``;
* ZCA: covariance ``2 N d^2`` + ``d^3 / 3`` (a Cholesky's count, a lower bound for any
  symmetric factorisation) + the product with the dense symmetric W ``2 N d^2``.

Timed (forward, training mode: batch statistics, as every training step runs it):
``batch_whiten`` (what ``FeatureWhitener`` runs) and, for comparison, ``previous`` (the
implementation before issue 22: ``batch_covariance``, explicit ``W`` by a triangular
inverse / a float64 ``eigh``, ``(z - mu) W^T``); and ``whiten`` with given statistics
(eval mode, running statistics). ``rel err`` is ``||y - y64|| / ||y64||`` against the
float64 evaluation of the same formula (the tests ask < 1e-4 on these features).

Features: N x d with a decaying covariance spectrum (1 .. 1e-4 of the largest
eigenvalue) and a non-zero mean, shrinkage ``eps`` (default 1e-3, the whitener's).
Prints a markdown table, then ``RESULT <json>``; ``--check`` exits 1 if a target is
missed (Cholesky <= 2x, ZCA <= 4x the floor). Imports only torch and mmkd_ext's
pure-torch maths (``pure_torch.py``), so it runs where OpenMMLab is not installed.

    python tools/benchmark/whitening_floor.py --threads 1 --clock cpu --repeats 50
    python tools/benchmark/whitening_floor.py --device cuda      # a GPU (wall clock)
"""
import argparse
import json
import statistics
import sys
import time

import pure_torch
import torch

TARGETS = {'cholesky': 2.0, 'zca': 4.0}


def floor_flops(method, n, d):
    """FLOPs of covariance + factorisation + solve / product (module docstring)."""
    if method == 'cholesky':
        return 2 * n * d * d + d**3 / 3 + n * d * d
    return 2 * n * d * d + d**3 / 3 + 2 * n * d * d


def features(n, d, device, seed=0):
    """(n, d) float32, decaying spectrum and a non-zero mean (as in the tests)."""
    g = torch.Generator().manual_seed(seed)
    mix = torch.randn(
        d, d, generator=g, dtype=torch.float64) * torch.logspace(
            0, -2, d, dtype=torch.float64)
    z = torch.randn(n, d, generator=g, dtype=torch.float64) @ mix.T / d**0.5
    z = z + torch.randn(d, generator=g, dtype=torch.float64)
    return z.to(device, torch.float32)


def previous(wh, z, method, eps):
    """The implementation before issue 22 (float64 eigh for ZCA, explicit W)."""
    mu, cov = wh.batch_covariance(z)
    C = wh.shrink(cov, eps)
    if method == 'cholesky':
        L = torch.linalg.cholesky(C)
        eye = torch.eye(C.shape[-1], dtype=C.dtype, device=C.device)
        W = torch.linalg.solve_triangular(L, eye, upper=False)
    else:
        W = pure_torch.load('mmkd_ext.models.utils.orthogonal').inv_sqrt_spd(C)
    return (z - mu) @ W.mT


def reference64(z, method, eps):
    """float64 evaluation of the formula: ``(z - mu) W^T``."""
    z = z.double()
    mu = z.mean(0)
    zc = z - mu
    C = (1 - eps) * (zc.T @ zc) / (z.shape[0] - 1) + eps * torch.eye(
        z.shape[1], dtype=z.dtype, device=z.device)
    if method == 'cholesky':
        W = torch.linalg.inv(torch.linalg.cholesky(C))
    else:
        lam, U = torch.linalg.eigh(C)
        W = (U * lam.rsqrt()) @ U.T
    return zc @ W.T


def median_times(fns, repeats, sync, clock):
    """Median seconds of each ``fn`` of ``fns``: one warm-up call each (allocator,
    kernels, MKL buffers), then ``repeats`` interleaved rounds (drifts hit every entry),
    each call between two ``sync()``. Also gpu_check.py's timer."""
    for fn in fns.values():
        fn()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            sync()
            t0 = clock()
            fn()
            sync()
            times[k].append(clock() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def run(args):
    wh = pure_torch.load('mmkd_ext.models.utils.whitening')
    device = torch.device(args.device)
    clock = time.process_time if args.clock == 'cpu' else time.perf_counter
    n, d, eps = args.n, args.d, args.eps
    z = features(n, d, device)
    zc = z - z.mean(0)
    mu, cov = wh.batch_covariance(z)
    fns = {'gemm': lambda: zc.mT @ zc}
    for m in args.methods:
        fns[f'{m}/batch_whiten'] = lambda m=m: wh.batch_whiten(z, m, eps)
        fns[f'{m}/previous'] = lambda m=m: previous(wh, z, m, eps)
        fns[f'{m}/whiten (eval)'] = lambda m=m: wh.whiten(z, mu, cov, m, eps)
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    with torch.no_grad():
        med = median_times(fns, args.repeats, sync, clock)
    rate = 2 * n * d * d / med['gemm']
    rows, ratios, errors = [], {}, {}
    for m in args.methods:
        floor = floor_flops(m, n, d) / rate
        y_ref = reference64(z, m, eps)
        outs = {
            'batch_whiten': wh.batch_whiten(z, m, eps)[0],
            'previous': previous(wh, z, m, eps),
            'whiten (eval)': wh.whiten(z, mu, cov, m, eps)
        }
        for name, y in outs.items():
            t = med[f'{m}/{name}']
            err = ((y.double() - y_ref).norm() / y_ref.norm()).item()
            rows.append((m, name, t, floor, t / floor, err))
            ratios[f'{m}/{name}'] = round(t / floor, 3)
            errors[f'{m}/{name}'] = float(f'{err:.3g}')
    return dict(rows=rows, ratios=ratios, errors=errors, rate=rate, gemm=med['gemm'])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n', type=int, default=256, help='tokens N')
    parser.add_argument('--d', type=int, default=512, help='channels d')
    parser.add_argument('--eps', type=float, default=1e-3, help='shrinkage')
    parser.add_argument('--methods', nargs='+', default=['cholesky', 'zca'])
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument(
        '--clock',
        choices=['wall', 'cpu'],
        default='wall',
        help='cpu: process CPU time (shared machines; with --threads 1)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument(
        '--check', action='store_true', help='exit 1 if a target is missed')
    args = parser.parse_args(argv)
    for m in args.methods:
        if m not in TARGETS:
            parser.error(f'--methods: {m!r} is not "cholesky" or "zca"')
    if args.threads:
        torch.set_num_threads(args.threads)
    res = run(args)
    device = torch.device(args.device)
    print(f'device: {device} ({torch.get_num_threads()} threads, {args.clock} clock), '
          f'N={args.n} d={args.d} eps={args.eps}; GEMM {res["gemm"] * 1e3:.3f} ms = '
          f'{res["rate"] / 1e9:.1f} GFLOP/s (the floor\'s rate, this run)')
    print('| method | implementation | time (ms) | floor (ms) | x floor | target | '
          'rel err vs float64 |')
    print('|---|---|---|---|---|---|---|')
    missed = []
    for m, name, t, floor, r, err in res['rows']:
        target = f'<= {TARGETS[m]:g}x' if name == 'batch_whiten' else ''
        if name == 'batch_whiten' and r > TARGETS[m]:
            missed.append(f'{m} {r:.2f}x > {TARGETS[m]:g}x')
        print(f'| {m} | {name} | {t * 1e3:.3f} | {floor * 1e3:.3f} | {r:.2f}x | '
              f'{target} | {err:.1e} |')
    print('RESULT ' + json.dumps(
        dict(
            device=str(device),
            threads=torch.get_num_threads(),
            clock=args.clock,
            shape=[args.n, args.d],
            gflops=round(res['rate'] / 1e9, 2),
            ratio_to_floor=res['ratios'],
            rel_err=res['errors'],
            missed=missed)))
    if args.check and missed:
        print(f'whitening_floor: target missed: {"; ".join(missed)}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
