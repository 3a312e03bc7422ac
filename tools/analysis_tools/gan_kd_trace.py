"""Trace one GAN run with discriminator distillation: losses, D accuracy, target geometry.

A diagnosis tool (docs/gan.md, "Whitening and the batch: what happened on seed 9"),
not a study: it trains one shipped GAN config through MMEngine's ``Runner`` (as
``tools/train.py`` does) and records, every ``--every`` iterations, for each D step:

* ``loss_d_real`` / ``loss_d_fake`` (hinge), ``acc_real`` / ``acc_fake`` (fraction of
  real images with logit > 0 / of fake images with logit < 0, on the DiffAugmented
  images D saw), ``loss_kd_real`` / ``loss_kd_fake``;
* the raw teacher targets ``T = [t_real; t_fake]`` (M = 2B rows, d_t columns): the
  eigenvalues of their batch covariance ``Sigma`` (1/(M-1)): largest, smallest of the
  ``min(M-1, d_t)`` non-null ones, effective rank (exp of the entropy of the normalised
  spectrum), the condition number of the whitener's shrunk covariance
  ``C = (1-eps) Sigma + eps I`` and ``shrink`` = mean over the non-null directions of
  ``eps / ((1-eps) lambda + eps)`` (how far shrinkage keeps the whitened variance
  below 1 there; 0 = exact whitening); ``fake_var_ratio`` = tr cov(t_fake) / tr
  cov(t_real) (fake diversity seen by the teacher); ``class_sep_real`` /
  ``class_sep_fake``: between-class share of the teacher-feature variance of the real
  / fake rows under their labels (does G follow its labels, as the teacher sees it);
* the normalised targets ``Y`` the KD loss sees (the normaliser's output): mean row
  norm (``y_norm``; ``y_rms``: root mean square; whitening gives
  ``y_rms^2 = (M-1)^2 / M / (1-eps) * (1 - shrink)`` exactly), mean |cosine|
  between distinct rows, mean cosine real-vs-fake rows and
  ``simplex_dev`` = ||Y Y^T / (M-1) - (I - 11^T/M)||_F / ||I - 11^T/M||_F (0 for the
  regular simplex that whitening M < d_t rows gives, docs/gan.md);
* the projected student embeddings ``P`` (connector output): mean row norm, mean
  |cosine| between distinct rows, effective rank, mean cosine to its own target row;
* per traced iteration, after the EMA update: ``ema_sn_ratio_min``, the smallest
  stored / true sigma over the EMA generator's spectral-norm layers
  (:func:`sn_sigma_ratios`), and ``g_sv21``, sigma_2 / sigma_1 of the raw G's weight
  in that layer;
* ``h_rank``: effective rank of D's pooled features; ``grad_kd_h`` / ``grad_hinge_h``:
  norms of the gradients of the KD terms and of the hinge terms w.r.t. D's pooled
  features (``torch.autograd.grad`` on the retained graph: the training step itself
  is unchanged);

and per G step ``loss_g`` and ``g_acc_fake`` (fraction of G's images D calls fake).

The hooks only read: forward hooks on the model's ``discriminator``, ``distill``
(:class:`~mmkd_ext.models.gans.DiscriminatorKD`), its normaliser and connector; no
random numbers are drawn, so the run follows the same trajectory as the untraced one
(tests/test_tools/test_gan_kd_trace.py checks the weights after a few iterations).
Writes ``<work-dir>/kd_trace.jsonl`` (one record per traced D step, then one
``{"val": metrics}`` record if the config validates), ``<work-dir>/kd_trace.png`` and
prints a table of means per 100 iterations. ``--ckpt-every k`` also saves a checkpoint
every k iterations and, after training, evaluates each with the EMA generator (what
the studies report), with the EMA generator after :func:`resync_spectral_norm_` and
with the raw one (``kd_trace_eval.jsonl``, last panel of the plot; validation inside
the run would draw from the global RNG and change it). ``--eval-only`` re-evaluates
the checkpoints of an earlier run, ``--plot-only`` redraws its plot and table.
Configs without ``model.distill`` (the GAN baseline) get the D / G / EMA records only.

    nice -n 19 env OMP_NUM_THREADS=1 python tools/analysis_tools/gan_kd_trace.py \
        configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py \
        --work-dir work_dirs/kd_trace/vkd_whiten_seed9 --seed 9 \
        --teacher-ckpt work_dirs/teachers/digits_resnet18-w32_seed0.pth \
        --fid-ckpt work_dirs/studies/digits_gan/fid_classifier/epoch_20.pth
"""
import argparse
import json
import math
import os
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import mmkd_ext  # noqa: F401  (registers modules, applies mmkd_ext.compat)
from mmkd_ext.compat import adapt_cfg_for_cpu_distributed


def _eff_rank(eig):
    """exp(entropy) of a non-negative spectrum (1 .. number of non-zero entries)."""
    eig = eig.clamp(min=0)
    total = eig.sum()
    if total <= 0:
        return 0.0
    p = eig / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def _cov_eigs(x):
    """Non-null eigenvalues of the batch covariance (1/(M-1)) of ``x (M, d)``, in
    descending order: the ``min(M-1, d)`` largest, from the M x M Gram matrix."""
    xc = x - x.mean(0, keepdim=True)
    m, d = x.shape
    if m <= d:
        eig = torch.linalg.eigvalsh(xc @ xc.T / (m - 1))
    else:
        eig = torch.linalg.eigvalsh(xc.T @ xc / (m - 1))
    eig = eig.flip(0).clamp(min=0)
    return eig[:min(m - 1, d)]


def _offdiag_cos(x):
    """Cosine matrix of the rows of ``x (M, d)`` and a mask of distinct pairs."""
    xn = F.normalize(x, dim=1)
    cos = xn @ xn.T
    mask = ~torch.eye(x.shape[0], dtype=torch.bool, device=x.device)
    return cos, mask


def target_stats(t_raw, y, eps):
    """Statistics of raw targets ``t_raw (M, d)`` (first half real, second fake) and of
    their normalised version ``y (M, d)``; ``eps``: the whitener's shrinkage (None
    without a whitener)."""
    m, d = t_raw.shape
    n = m // 2
    out = {}
    eig = _cov_eigs(t_raw)
    out['eig_max'] = float(eig[0])
    out['eig_min'] = float(eig[-1])
    out['eff_rank_t'] = _eff_rank(eig)
    if eps is not None:
        lam = (1 - eps) * eig + eps
        null = m - 1 < d  # directions with Sigma's eigenvalue 0 get C's eps
        out['cond_c'] = float(lam[0] / (eps if null else lam[-1]))
        out['shrink'] = float((eps / lam).mean())
        out['n_eig_below_eps'] = int((eig < eps).sum())
    tr = t_raw[:n].var(0).sum()
    out['fake_var_ratio'] = float(t_raw[n:].var(0).sum() / tr) if tr > 0 else math.nan
    cos, mask = _offdiag_cos(y)
    out['y_norm'] = float(y.norm(dim=1).mean())
    out['y_rms'] = float(y.pow(2).sum(1).mean().sqrt())
    out['y_abs_cos'] = float(cos[mask].abs().mean())
    out['y_cos_real_fake'] = float(cos[:n, n:].mean())
    gram = y @ y.T / (m - 1)
    ideal = torch.eye(m) - torch.full((m, m), 1.0 / m)
    out['simplex_dev'] = float((gram - ideal).norm() / ideal.norm())
    return out


def class_separation(x, labels):
    """Between-class share of the total variance of the rows of ``x (n, d)`` with
    ``labels (n,)``: ``sum_c n_c |mu_c - mu|^2 / sum_i |x_i - mu|^2`` (1: every row at
    its class mean; small: the classes overlap)."""
    mu = x.mean(0, keepdim=True)
    total = ((x - mu)**2).sum()
    if total <= 0:
        return math.nan
    between = x.new_zeros(())
    for c in labels.unique():
        sel = labels == c
        between = between + sel.sum() * ((x[sel].mean(0) - mu[0])**2).sum()
    return float(between / total)


def student_stats(p, y):
    """Projected student embeddings ``p (M, d)`` against targets ``y (M, d)``."""
    cos, mask = _offdiag_cos(p)
    return dict(
        p_norm=float(p.norm(dim=1).mean()),
        p_abs_cos=float(cos[mask].abs().mean()),
        p_eff_rank=_eff_rank(_cov_eigs(p)),
        p_cos_target=float(F.cosine_similarity(p, y, dim=1).mean()))


def _unwrap(m):
    return m.module if is_model_wrapper(m) else m


class KDTraceHook(Hook):
    """Forward hooks on a :class:`DataLimitedGAN` that record one JSONL record per
    D step of every ``every``-th iteration (and the last); see the module doc."""

    priority = 'LOWEST'

    def __init__(self, out_file, every=5):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f'--every must be an int >= 1, got {every!r}')
        self.out_file, self.every = out_file, every
        self.active, self.steps, self.handles = False, [], []
        self.g = {}
        self.record_val = True

    # -- hooks on the modules ------------------------------------------------------
    def _disc(self, module, args, kwargs, output):
        if not self.active:
            return
        d_step = kwargs.get('return_feat', args[2] if len(args) > 2 else False)
        if d_step:
            logits, h = output
            n = logits.shape[0] // 2
            lr, lf = logits[:n].detach(), logits[n:].detach()
            self.steps.append(
                dict(
                    loss_d_real=float(F.relu(1 - lr).mean()),
                    loss_d_fake=float(F.relu(1 + lf).mean()),
                    acc_real=float((lr > 0).float().mean()),
                    acc_fake=float((lf < 0).float().mean()),
                    h_rank=_eff_rank(_cov_eigs(h.detach().float()))))
            self._graph = (logits, h)
            self._labels = args[1].detach() if len(args) > 1 else kwargs.get('y')
        else:  # the G step (D frozen, fake images only)
            self.g = dict(
                loss_g=float(-output.detach().mean()),
                g_acc_fake=float((output.detach() < 0).float().mean()))

    def _normalizer(self, module, args, output):
        if self.active and self.steps:
            self.steps[-1]['_y'] = output.detach().float()

    def _connector(self, module, args, output):
        if self.active and self.steps:
            self.steps[-1]['_p'] = output.detach().float()

    def _distill(self, module, args, output):
        if not (self.active and self.steps):
            return
        rec = self.steps[-1]
        s_real, s_fake, t_real, t_fake = args[:4]
        rec.update({k: float(v.detach()) for k, v in output.items()})
        t_raw = torch.cat([t_real, t_fake]).detach().float()
        y = rec.pop('_y', t_raw)
        p = rec.pop('_p', torch.cat([s_real, s_fake]).detach().float())
        eps = getattr(module.normalizer, 'eps', None)
        rec.update(target_stats(t_raw, y, eps))
        rec.update(student_stats(p, y))
        labels = getattr(self, '_labels', None)
        if labels is not None and labels.shape[0] == t_raw.shape[0]:
            n = t_real.shape[0]
            rec['class_sep_real'] = class_separation(t_raw[:n], labels[:n])
            rec['class_sep_fake'] = class_separation(t_raw[n:], labels[n:])
        logits, h = self._graph
        if h.requires_grad:
            n = logits.shape[0] // 2
            hinge = F.relu(1 - logits[:n]).mean() + F.relu(1 + logits[n:]).mean()
            kd = sum(output.values())
            g_h = torch.autograd.grad(hinge, h, retain_graph=True)[0]
            g_kd = torch.autograd.grad(kd, h, retain_graph=True)[0]
            rec['grad_hinge_h'] = float(g_h.norm())
            rec['grad_kd_h'] = float(g_kd.norm())

    # -- runner hooks --------------------------------------------------------------
    def before_train(self, runner):
        model = _unwrap(runner.model)
        for name in ('discriminator', 'distill'):
            if not hasattr(model, name):
                raise ValueError(f'gan_kd_trace: the model ({type(model).__name__}) has '
                                 f'no `{name}`: give a DataLimitedGAN config')
        disc = _unwrap(model.discriminator)
        self.handles.append(disc.register_forward_hook(self._disc, with_kwargs=True))
        kd = model.distill
        if kd is not None:
            self.handles.append(kd.register_forward_hook(self._distill))
            if kd.normalizer is not None:
                self.handles.append(kd.normalizer.register_forward_hook(self._normalizer))
            if kd.connector is not None:
                self.handles.append(kd.connector.register_forward_hook(self._connector))
        os.makedirs(osp.dirname(osp.abspath(self.out_file)), exist_ok=True)
        open(self.out_file, 'w').close()

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        it = runner.iter
        self.active = it % self.every == 0 or it == runner.max_iters - 1
        self.steps, self.g, self._graph, self._labels = [], {}, None, None

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if not self.active:
            return
        model = _unwrap(runner.model)
        ema = getattr(model, 'generator_ema', None)
        if ema is not None:  # after this iteration's EMA update
            ratios = sn_sigma_ratios(ema)
            if ratios:
                layer = min(ratios, key=ratios.get)
                self.g['ema_sn_ratio_min'] = ratios[layer]
                self.g['ema_sn_layer'] = layer
                self.g['g_sv21'] = sv_ratio_21(_unwrap(model.generator), layer)
        with open(self.out_file, 'a') as f:
            for k, rec in enumerate(self.steps):
                rec.pop('_y', None)
                rec.pop('_p', None)
                f.write(
                    json.dumps(dict(iter=runner.iter, d_step=k, **rec, **self.g)) + '\n')
        self.active, self.steps, self._graph = False, [], None

    def after_val_epoch(self, runner, metrics=None):
        if not self.record_val:
            return
        vals = {
            k: float(v)
            for k, v in (metrics or {}).items()
            if isinstance(v, (int, float)) or getattr(v, 'numel', lambda: 0)() == 1
        }
        with open(self.out_file, 'a') as f:
            f.write(json.dumps(dict(iter=runner.iter, val=vals)) + '\n')

    def after_train(self, runner):
        for h in self.handles:
            h.remove()
        self.handles = []


def _iter_of(path):
    name = osp.basename(path)
    return int(name[len('iter_'):-len('.pth')])


def _sn_hooks(module):
    """(submodule, torch SpectralNorm hook) pairs of ``nn.utils.spectral_norm``."""
    from torch.nn.utils.spectral_norm import SpectralNorm
    for m in module.modules():
        for hook in m._forward_pre_hooks.values():
            if isinstance(hook, SpectralNorm):
                yield m, hook


@torch.no_grad()
def sn_sigma_ratios(module):
    """``{submodule name: u^T W v / sigma_max(W)}`` for every spectrally normalised
    layer: the stored estimate (the one eval-mode forward divides by: no power
    iteration in eval) over the true largest singular value. 1 for unit, aligned
    ``u, v``; an EMA of ``u, v`` vectors that turned is shorter, so the ratio drops and
    the layer's weight is divided by too small a sigma."""
    names = {m: n for n, m in module.named_modules()}
    out = {}
    for m, hook in _sn_hooks(module):
        w = hook.reshape_weight_to_matrix(getattr(m, hook.name + '_orig'))
        u, v = getattr(m, hook.name + '_u'), getattr(m, hook.name + '_v')
        out[names[m]] = float(u @ (w @ v) / torch.linalg.matrix_norm(w, 2))
    return out


@torch.no_grad()
def sv_ratio_21(module, name):
    """sigma_2 / sigma_1 of the spectrally normalised weight of ``module``'s submodule
    ``name`` (near 1: the top singular vector, which ``u, v`` track, is ill-defined
    and can turn from step to step)."""
    m = dict(module.named_modules())[name]
    for sub, hook in _sn_hooks(m):
        if sub is m:
            w = hook.reshape_weight_to_matrix(getattr(m, hook.name + '_orig'))
            s = torch.linalg.svdvals(w)
            return float(s[1] / s[0]) if s.numel() > 1 else 0.0
    raise KeyError(f'{name} has no spectral norm')


@torch.no_grad()
def resync_spectral_norm_(module):
    """Set every spectral-norm ``u, v`` of ``module`` to the top singular vectors of
    its current weight (exact SVD): the eval-mode sigma is then the true one."""
    for m, hook in _sn_hooks(module):
        w = hook.reshape_weight_to_matrix(getattr(m, hook.name + '_orig'))
        u, _, vh = torch.linalg.svd(w, full_matrices=False)
        getattr(m, hook.name + '_u').copy_(u[:, 0])
        getattr(m, hook.name + '_v').copy_(vh[0])


def eval_checkpoints(runner, out_file):
    """FID etc. of every ``iter_*.pth`` in the work dir, by the config's validation
    loop, with: the EMA generator as saved (``ema``, what the studies report); the EMA
    generator with its spectral-norm ``u, v`` recomputed from its weights
    (``ema_sn``, :func:`resync_spectral_norm_`); the raw generator (``raw``, copied
    into the EMA slot). One ``{"iter", "ema", "ema_sn", "raw", "ema_sn_ratio"}`` line
    each in ``out_file`` (``ema_sn_ratio``: :func:`sn_sigma_ratios` of the saved EMA
    generator). Runs after training, so the traced run is not disturbed (a
    validation inside the run would draw from the global RNG: a DataLoader draws its
    base seed)."""
    import glob
    if runner.val_loop is None:
        raise ValueError('--ckpt-every needs the validation of the config (drop '
                         '--no-val)')
    model = _unwrap(runner.model)
    ckpts = sorted(glob.glob(osp.join(runner.work_dir, 'iter_*.pth')), key=_iter_of)
    rows = []
    for path in ckpts:
        row = dict(iter=_iter_of(path))
        for which in ('ema', 'ema_sn', 'raw'):
            runner.load_checkpoint(path)
            if which == 'ema':
                row['ema_sn_ratio'] = sn_sigma_ratios(model.generator_ema)
            if which == 'ema_sn':
                resync_spectral_norm_(model.generator_ema)
            if which == 'raw':
                model.generator_ema.load_state_dict(_unwrap(model.generator).state_dict())
            metrics = runner.val_loop.run()
            row[which] = {
                k: float(v)
                for k, v in metrics.items()
                if isinstance(v, (int, float)) or getattr(v, 'numel', lambda: 0)() == 1
            }
        rows.append(row)
        with open(out_file, 'a') as f:
            f.write(json.dumps(row) + '\n')
    return rows


def read_eval(path):
    """Rows of a ``kd_trace_eval.jsonl`` (empty list without the file)."""
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_trace(path):
    """(per-D-step records, last validation metrics or {}) of a ``kd_trace.jsonl``."""
    steps, val = [], {}
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if 'val' in rec:
                val = rec['val']
            else:
                steps.append(rec)
    return steps, val


PANELS = (
    ('D hinge / G loss', ('loss_d_real', 'loss_d_fake', 'loss_g'), False),
    ('D accuracy (after DiffAugment)', ('acc_real', 'acc_fake', 'g_acc_fake'), False),
    ('KD loss', ('loss_kd_real', 'loss_kd_fake'), False),
    ('row norms: targets y, projected student p', ('y_norm', 'p_norm'), False),
    ('cosines', ('y_abs_cos', 'y_cos_real_fake', 'p_abs_cos', 'p_cos_target'), False),
    ('distance from the simplex, shrinkage', ('simplex_dev', 'shrink'), True),
    ('raw target covariance eigenvalues', ('eig_max', 'eig_min'), True),
    ('condition number of shrunk C', ('cond_c', ), True),
    ('effective ranks', ('eff_rank_t', 'p_eff_rank', 'h_rank'), False),
    ('grad norm w.r.t. D pooled feature', ('grad_hinge_h', 'grad_kd_h'), True),
    ('EMA G: stored / true sigma (worst SN layer); raw G sigma2/sigma1 there',
     ('ema_sn_ratio_min', 'g_sv21'), False),
    ('teacher view of fakes: diversity, class separation',
     ('fake_var_ratio', 'class_sep_real', 'class_sep_fake'), False),
)


def _smooth(vals, window):
    """Centred running mean over ``window`` points (NaN-aware)."""
    if window <= 1:
        return vals
    out, half = [], window // 2
    for i in range(len(vals)):
        w = [v for v in vals[max(0, i - half):i + half + 1] if not math.isnan(v)]
        out.append(sum(w) / len(w) if w else math.nan)
    return out


def plot_trace(records, out_png, title='', smooth=5, evals=()):
    """Curves of the records (mean over the D steps of an iteration; faint: as
    recorded, solid: running mean over ``smooth`` traced iterations) on a grid; the
    last panel: FID / recall of the checkpoints (``evals``, :func:`eval_checkpoints`).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    by_iter = {}
    for r in records:
        by_iter.setdefault(r['iter'], []).append(r)
    its = sorted(by_iter)

    def series(key):
        vals = []
        for i in its:
            v = [r[key] for r in by_iter[i] if r.get(key) is not None]
            vals.append(sum(v) / len(v) if v else math.nan)
        return vals

    fig, axes = plt.subplots(4, 4, figsize=(18, 14))
    for ax, (name, keys, log) in zip(axes.flat, PANELS):
        for key in keys:
            vals = series(key)
            if all(math.isnan(v) for v in vals):
                continue
            line, = ax.plot(its, _smooth(vals, smooth), label=key, lw=1.2)
            ax.plot(its, vals, lw=0.5, alpha=0.3, color=line.get_color())
        if log and ax.lines:
            ax.set_yscale('log')
        ax.set_title(name, fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.tick_params(labelsize=7)
        if ax.lines:
            ax.legend(fontsize=7)
    ax = axes.flat[len(PANELS)]
    if evals:
        x = [e['iter'] for e in evals]
        ax2 = ax.twinx()
        for which, style in (('ema', '-'), ('ema_sn', ':'), ('raw', '--')):
            for axis, key, color, name in ((ax, 'gen/FID', 'C0', 'FID'),
                                           (ax2, 'gen/recall', 'C3', 'recall')):
                axis.plot(
                    x, [e.get(which, {}).get(key, math.nan) for e in evals],
                    color + style,
                    marker='o',
                    ms=3,
                    label=f'{name} {which} G')
        ax.set_ylabel('FID', fontsize=8, color='C0')
        ax2.set_ylabel('recall', fontsize=8, color='C3')
        ax2.set_ylim(0, 1)
        ax2.tick_params(labelsize=7)
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, fontsize=7)
        ax.set_title('checkpoints: EMA G, EMA G with SN u/v resynced, raw G', fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.tick_params(labelsize=7)
    else:
        ax.axis('off')
    for ax in axes.flat[len(PANELS) + 1:]:
        ax.axis('off')
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, dpi=80)
    plt.close(fig)
    return out_png


SUMMARY_KEYS = ('loss_d_real', 'loss_d_fake', 'loss_g', 'acc_real', 'acc_fake',
                'g_acc_fake', 'loss_kd_real', 'loss_kd_fake', 'y_norm', 'y_abs_cos',
                'simplex_dev', 'shrink', 'eig_min', 'cond_c', 'eff_rank_t', 'p_norm',
                'p_abs_cos', 'p_cos_target', 'h_rank', 'grad_kd_h', 'grad_hinge_h',
                'fake_var_ratio', 'class_sep_real', 'class_sep_fake', 'ema_sn_ratio_min',
                'g_sv21')


def summarize(records, width=100, keys=SUMMARY_KEYS):
    """Means of ``keys`` over windows of ``width`` iterations: ``{(start, end):
    {key: mean}}`` (keys absent from the records are left out)."""
    out = {}
    for r in records:
        start = r['iter'] // width * width
        acc = out.setdefault((start, start + width), {})
        for k in keys:
            if r.get(k) is not None:
                acc.setdefault(k, []).append(r[k])
    return {w: {k: sum(v) / len(v) for k, v in d.items()} for w, d in sorted(out.items())}


def summary_table(records, width=100, keys=SUMMARY_KEYS):
    """:func:`summarize` as a markdown table (one row per key, one column per window)."""
    summ = summarize(records, width, keys)
    wins = list(summ)
    lines = [
        '| | ' + ' | '.join(f'it {a}-{b - 1}' for a, b in wins) + ' |',
        '|---|' + '---|' * len(wins)
    ]
    for k in keys:
        if any(k in summ[w] for w in wins):
            lines.append(f'| {k} | ' +
                         ' | '.join(f'{summ[w][k]:.4g}' if k in summ[w] else '-'
                                    for w in wins) + ' |')
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Trace a GAN distillation run (diagnosis)')
    p.add_argument(
        'config',
        help='a DataLimitedGAN config (without model.distill only the D / G '
        'statistics are recorded)')
    p.add_argument('--work-dir', required=True)
    p.add_argument('--seed', type=int, default=0, help='randomness.seed')
    p.add_argument('--teacher-ckpt', help='model.teacher.checkpoint')
    p.add_argument(
        '--fid-ckpt',
        help='val/test_evaluator.feature_extractor.checkpoint (the FID classifier)')
    p.add_argument('--every', type=int, default=5, help='trace every k iterations')
    p.add_argument('--iters', type=int, help='train_cfg.max_iters (default: config)')
    p.add_argument('--no-val', action='store_true', help='skip the final validation')
    p.add_argument(
        '--ckpt-every',
        type=int,
        help='save a checkpoint every k iterations and, after training, evaluate each '
        'with the EMA and the raw generator (kd_trace_eval.jsonl)')
    p.add_argument('--title', default=None, help='plot title')
    p.add_argument(
        '--smooth', type=int, default=5, help='running mean over k traced iterations')
    p.add_argument(
        '--plot-only',
        action='store_true',
        help='redraw <work-dir>/kd_trace.png from its kd_trace.jsonl, no training')
    p.add_argument(
        '--eval-only',
        action='store_true',
        help='no training: evaluate the iter_*.pth already in <work-dir> (as '
        '--ckpt-every does after training), then redraw')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return p.parse_args(argv)


def build_cfg(args):
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file "{args.config}" does not exist')
    cfg = Config.fromfile(args.config)
    if cfg.model.get('type', '').split('.')[-1] != 'DataLimitedGAN':
        raise ValueError(f'{args.config}: model.type is {cfg.model.get("type")!r}; '
                         'gan_kd_trace traces a DataLimitedGAN config')
    opts = {'randomness.seed': args.seed, 'randomness.deterministic': False}
    if args.teacher_ckpt and cfg.model.get('teacher') is None:
        raise ValueError(f'--teacher-ckpt given, but {args.config} has no '
                         'model.teacher (a GAN without distillation)')
    if args.teacher_ckpt:
        opts['model.teacher.checkpoint'] = args.teacher_ckpt
    if args.fid_ckpt:
        for k in ('val_evaluator', 'test_evaluator'):
            opts[f'{k}.feature_extractor.checkpoint'] = args.fid_ckpt
    if args.iters is not None:
        opts['train_cfg.max_iters'] = args.iters
        opts['train_cfg.val_interval'] = args.iters
        opts['default_hooks.checkpoint.interval'] = args.iters
    opts['default_hooks.checkpoint.max_keep_ckpts'] = 1
    opts['default_hooks.checkpoint.save_best'] = None
    if args.ckpt_every:
        opts['default_hooks.checkpoint.interval'] = args.ckpt_every
        opts['default_hooks.checkpoint.max_keep_ckpts'] = -1
    opts.update(args.cfg_options)
    cfg.merge_from_dict(opts)
    if args.no_val:
        cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
        cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.work_dir = args.work_dir
    cfg.launcher = 'none'
    cfg.log_level = 'WARNING'
    return adapt_cfg_for_cpu_distributed(cfg)


def main(argv=None):
    args = parse_args(argv)
    out = osp.join(args.work_dir, 'kd_trace.jsonl')
    eval_out = osp.join(args.work_dir, 'kd_trace_eval.jsonl')
    if args.ckpt_every and args.no_val:
        raise ValueError('--ckpt-every evaluates checkpoints: drop --no-val')
    if args.eval_only:
        runner = Runner.from_cfg(build_cfg(args))
        runner.call_hook('before_run')
        if osp.isfile(eval_out):
            os.remove(eval_out)
        eval_checkpoints(runner, eval_out)
    elif not args.plot_only:
        cfg = build_cfg(args)
        runner = Runner.from_cfg(cfg)
        hook = KDTraceHook(out, args.every)
        runner.register_hook(hook, 'LOWEST')
        if osp.isfile(eval_out):
            os.remove(eval_out)
        runner.train()
        if args.ckpt_every:
            hook.record_val = False
            eval_checkpoints(runner, eval_out)
    if not osp.isfile(out):
        raise FileNotFoundError(f'{out} does not exist (--plot-only / --eval-only '
                                'read the trace of an earlier run)')
    records, val = read_trace(out)
    title = args.title or (f'{osp.basename(args.config)} seed {args.seed} (diagnosis, '
                           'not a study result)')
    if val:
        title += '  ' + ', '.join(f'{k}={v:.3g}' for k, v in sorted(val.items())
                                  if k.endswith(('FID', 'recall', 'coverage')))
    png = plot_trace(records, osp.join(args.work_dir, 'kd_trace.png'), title, args.smooth,
                     read_eval(eval_out))
    print(summary_table(records))
    print(json.dumps(dict(trace=out, plot=png, records=len(records), val=val)))
    return out, png, val


if __name__ == '__main__':
    main()
