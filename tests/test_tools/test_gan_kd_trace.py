"""tools/analysis_tools/gan_kd_trace.py: traces a few iterations of the digits VKD GAN
(tiny random teacher) without changing the run, and its statistics mean what the
docstring says."""
import copy
import json
import math
import os.path as osp

import pytest
import torch

CFG = 'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py'
TOOL = 'tools/analysis_tools/gan_kd_trace.py'
TINY = {  # a width-4 teacher (32-d embedding), saved with random weights
    'model.teacher.backbone.backbone.stem_channels': 4,
    'model.teacher.backbone.backbone.base_channels': 4,
    'model.teacher.backbone.head.in_channels': 32,
    'model.discriminator.distill_dims': (64, 48),
    'custom_hooks': [],
    'default_hooks.logger.interval': 1,
}


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, repo_root):
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(osp.join(repo_root, CFG))
    cfg.merge_from_dict(TINY)
    backbone = dict(cfg.model.teacher.backbone)
    backbone.pop('_scope_', None)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save({'state_dict': MODELS.build(backbone).state_dict()}, path)
    return str(path)


def _opts():
    return [f'{k}={v}'
            for k, v in TINY.items() if k != 'custom_hooks'] + ['custom_hooks=[]']


def test_trace_records_and_leaves_the_run_unchanged(tmp_path, teacher_ckpt, load_tool,
                                                    run_tool):
    tool = load_tool(TOOL)
    work = tmp_path / 'trace'
    # both runs in a subprocess with the same environment (threads)
    run_tool(TOOL, CFG, '--work-dir', work, '--seed', '3', '--teacher-ckpt', teacher_ckpt,
             '--iters', '3', '--every', '2', '--no-val', '--cfg-options', *_opts())
    out = str(work / 'kd_trace.jsonl')
    assert osp.isfile(work / 'kd_trace.png')
    records, val = tool.read_trace(out)
    assert val == {}
    # iterations 0 and 2 (every 2; 2 is also the last), 2 D steps each
    assert [(r['iter'], r['d_step']) for r in records] == [(0, 0), (0, 1), (2, 0), (2, 1)]
    m = 32  # 16 real + 16 fake rows, 32-d teacher: M - 1 < d, whitening -> simplex
    for r in records:
        for k in ('acc_real', 'acc_fake', 'g_acc_fake'):
            assert 0.0 <= r[k] <= 1.0
        assert r['loss_kd_real'] > 0 and r['loss_kd_fake'] > 0
        assert r['loss_d_real'] >= 0 and r['loss_d_fake'] >= 0
        assert math.isfinite(r['loss_g'])
        assert r['grad_kd_h'] > 0 and r['grad_hinge_h'] > 0
        assert r['eig_max'] >= r['eig_min'] >= 0
        assert r['cond_c'] >= 1 and 0 <= r['shrink'] < 1
        # whitening M <= d rows: Y Y^T = Z C^-1 Z^T, so the mean squared row norm is
        # (M-1)^2 / M / (1-eps) * (1 - shrink) (a regular simplex when shrink -> 0)
        eps = 1e-3
        assert r['y_rms']**2 == pytest.approx(
            (m - 1)**2 / m / (1 - eps) * (1 - r['shrink']), rel=1e-3)
        assert r['y_norm'] <= r['y_rms'] * (1 + 1e-5)
        assert 0 < r['ema_sn_ratio_min'] <= 1 + 1e-4 and 0 <= r['g_sv21'] <= 1
        assert 0 <= r['class_sep_real'] <= 1 and 0 <= r['class_sep_fake'] <= 1
    # the same seed without the trace gives the same weights: the hooks only read
    plain = tmp_path / 'plain'
    run_tool(
        'tools/train.py', CFG, '--work-dir', plain, '--cfg-options', *_opts(),
        'randomness.seed=3', 'randomness.deterministic=False',
        f'model.teacher.checkpoint={teacher_ckpt}', 'train_cfg.max_iters=3',
        'default_hooks.checkpoint.interval=3', *[
            f'{k}_{v}=None' for k in ('val', 'test')
            for v in ('dataloader', 'evaluator', 'cfg')
        ])
    a = torch.load(work / 'iter_3.pth', map_location='cpu', weights_only=False)
    b = torch.load(plain / 'iter_3.pth', map_location='cpu', weights_only=False)
    for k, v in a['state_dict'].items():
        assert torch.equal(v, b['state_dict'][k]), k


def test_statistics_of_a_known_simplex(load_tool):
    tool = load_tool(TOOL)
    torch.manual_seed(0)
    m, d = 8, 20
    t = torch.randn(m, d)
    # exact whitening of M < d rows: Y Y^T = (M - 1)(I - 11^T / M)
    tc = t - t.mean(0)
    u, s, vh = torch.linalg.svd(tc, full_matrices=False)
    y = math.sqrt(m - 1) * u[:, :m - 1] @ vh[:m - 1]
    st = tool.target_stats(t, y, eps=1e-3)
    assert st['simplex_dev'] < 1e-5
    assert st['y_abs_cos'] == pytest.approx(1 / (m - 1), rel=1e-4)
    assert st['y_cos_real_fake'] == pytest.approx(-1 / (m - 1), rel=1e-4)
    eig = s[:m - 1]**2 / (m - 1)
    assert st['eig_max'] == pytest.approx(float(eig[0]), rel=1e-4)
    assert st['eig_min'] == pytest.approx(float(eig[-1]), rel=1e-4)
    assert st['cond_c'] == pytest.approx(
        float(((1 - 1e-3) * eig[0] + 1e-3) / 1e-3), rel=1e-4)
    # the raw rows themselves are no simplex
    assert tool.target_stats(t, t, eps=None)['simplex_dev'] > 0.1
    # a rank-1 student: effective rank 1, |cos| 1
    p = torch.randn(1, d) * torch.arange(1., m + 1)[:, None]
    sp = tool.student_stats(p, y)
    assert sp['p_eff_rank'] == pytest.approx(1.0, abs=1e-3)
    assert sp['p_abs_cos'] == pytest.approx(1.0, abs=1e-5)


def test_bad_input_is_named(load_tool, tmp_path, raises):
    tool = load_tool(TOOL)
    raises(
        ValueError, lambda: tool.main(
            ['configs/digits/resnet18-w32_20e_digits.py', '--work-dir',
             str(tmp_path)]), 'DataLimitedGAN')
    raises(
        ValueError, lambda: tool.main([
            'configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py', '--work-dir',
            str(tmp_path), '--teacher-ckpt', 'x.pth'
        ]), '--teacher-ckpt', 'model.teacher')
    raises(
        ValueError, lambda: tool.main(
            [CFG, '--work-dir',
             str(tmp_path), '--ckpt-every', '2', '--no-val']), '--no-val')
    raises(ValueError, lambda: tool.KDTraceHook(str(tmp_path / 'x'), every=0), '--every')
    raises(FileNotFoundError, lambda: tool.main(['nope.py', '--work-dir',
                                                 str(tmp_path)]), 'nope.py')


def test_spectral_norm_of_an_averaged_u_v(load_tool):
    """The old EMA rule (spectral-norm vectors averaged like the weights) after the top
    singular direction turned: the stored sigma falls below the true one, which
    ``sn_sigma_ratios`` measures and ``resync_spectral_norm_`` restores (docs/gan.md,
    seed 9). ``ema_update_`` now re-estimates u, v and keeps the ratio at 1."""
    from mmkd_ext.models.gans.ema import ema_update_

    def old_ema_update_(ema, model, decay):  # the rule before the fix: plain lerp
        dst, src = ema.state_dict(), model.state_dict()
        with torch.no_grad():
            for k in dst:
                dst[k].lerp_(src[k], 1.0 - decay)

    tool = load_tool(TOOL)
    torch.manual_seed(0)
    g = torch.nn.Sequential(
        torch.nn.utils.spectral_norm(torch.nn.Linear(6, 5)),
        torch.nn.utils.spectral_norm(torch.nn.Linear(5, 4)))
    ema = copy.deepcopy(g)  # before a forward (the GAN does the same)
    for _ in range(20):  # power iterations in train mode, u and v converge
        g(torch.randn(3, 6))
    ema_update_(ema, g, 0.9, copy=True)
    fixed = copy.deepcopy(ema)
    assert tool.sn_sigma_ratios(g)['0'] == pytest.approx(1.0, abs=0.05)
    with torch.no_grad():  # the top singular direction of layer 0 swaps
        w = g[0].weight_orig
        u, s, vh = torch.linalg.svd(w, full_matrices=False)
        g[0].weight_orig.copy_(u[:, [1, 0, 2, 3, 4]] @ torch.diag(s) @ vh)
    for _ in range(8):
        g(torch.randn(3, 6))
        old_ema_update_(ema, g, 0.9)
        ema_update_(fixed, g, 0.9)
    r = tool.sn_sigma_ratios(ema)
    assert r['0'] < 0.9 and r['1'] == pytest.approx(1.0, abs=0.05)
    assert tool.sn_sigma_ratios(fixed)['0'] == pytest.approx(1.0, abs=0.01)
    assert 0 < tool.sv_ratio_21(g, '0') < 1
    tool.resync_spectral_norm_(ema)
    assert tool.sn_sigma_ratios(ema)['0'] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(KeyError):
        tool.sv_ratio_21(torch.nn.Sequential(torch.nn.Linear(2, 2)), '0')


def test_read_trace_splits_val(tmp_path, load_tool):
    tool = load_tool(TOOL)
    path = tmp_path / 't.jsonl'
    path.write_text(
        json.dumps(dict(iter=0, d_step=0, loss_g=1.0)) + '\n' +
        json.dumps(dict(iter=1, val={'gen/FID': 3.0})) + '\n')
    steps, val = tool.read_trace(str(path))
    assert steps == [dict(iter=0, d_step=0, loss_g=1.0)] and val == {'gen/FID': 3.0}
