"""tools/benchmark/digits_gan.py --quick: the two classifiers and the seven arms
train through the runner, the paired FID report (per-method mean +- sd, differences to
the baseline and the regression baseline with CI and p), the JSONL results, the plot
and the sample grids are written. Seed s builds the same generator in every GAN config
(G is built first, before D's distillation head and the teacher)."""
import json
import os
import os.path as osp

import torch

CONFIGS = ('configs/gan/biggan-diffaug-ch16_0.5k_digits-16px-10pct.py',
           'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct_'
           'regression.py',
           'configs/vkd/vkd_biggan-diffaug-ch16_resnet18-w32_0.5k_digits-16px-10pct.py')


def test_same_seed_same_generator_and_shared_discriminator(repo_root, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as CLS

    import mmkd_ext  # noqa: F401
    from mmkd_ext.registry import MODELS

    # a teacher checkpoint for the distilled configs (random weights suffice)
    cfg = Config.fromfile(osp.join(repo_root, CONFIGS[2]))
    teacher = CLS.build(cfg.model.teacher.backbone)
    ckpt = str(tmp_path / 't.pth')
    torch.save(dict(state_dict=teacher.state_dict()), ckpt)
    states = []
    for path in CONFIGS:
        cfg = Config.fromfile(osp.join(repo_root, path))
        if 'teacher' in cfg.model:
            cfg.model.teacher.checkpoint = ckpt
        torch.manual_seed(5)
        # the GAN configs' scope, whatever runner an earlier test left current
        with DefaultScope.overwrite_default_scope('mmkd_ext'):
            model = MODELS.build(cfg.model)
        states.append((model.generator.state_dict(), {
            k: v
            for k, v in model.discriminator.state_dict().items()
            if not k.startswith('distill_head')
        }))
    for g, d in states[1:]:
        assert all(torch.equal(g[k], states[0][0][k]) for k in g)
        assert set(d) == set(states[0][1])
        assert all(torch.equal(d[k], states[0][1][k]) for k in d)


def test_digits_gan_quick_end_to_end(tmp_path, run_tool, repo_root):
    docs = osp.join(repo_root, 'docs')
    before = {f: osp.getmtime(osp.join(docs, f)) for f in os.listdir(docs)}
    out = tmp_path / 'study'
    proc = run_tool('tools/benchmark/digits_gan.py', '--quick', '--out', out)
    lines = proc.stdout.strip().splitlines()
    methods = {
        'baseline', 'regression', 'vkd_nonorm', 'vkd_whiten', 'direct_nonorm',
        'direct_whiten', 'whiten_bs64'
    }
    assert sum('ETA' in line for line in lines) == 2 * len(methods)  # 2 seeds
    result = json.loads(lines[-1][len('RESULT '):])
    assert set(result['methods']) == methods and result['unpaired'] is None
    assert set(result['differences']['baseline']) == methods - {'baseline'}
    assert set(
        result['differences']['regression']) == methods - {'baseline', 'regression'}
    # one Holm family: every arm vs the baseline; the primary is direct + whitening
    assert {tuple(p)
            for p in result['family']} == {(m, 'baseline')
                                           for m in methods - {'baseline'}}
    for m, d in result['differences']['baseline'].items():
        assert d['n'] == 2 and d['ci_low'] <= d['mean'] <= d['ci_high']
        assert d['in_family'] and d['p'] <= d['p_holm'] <= 1
    assert all(d['p_holm'] is None for d in result['differences']['regression'].values())
    records = [json.loads(x) for x in (out / 'results.jsonl').read_text().splitlines()]
    assert len(records) == 2 + 2 * len(methods)  # two classifiers + runs
    assert all('gen/FID' in r['metrics'] for r in records[2:])
    report = (out / 'report.md').read_text()
    assert '| DiffAugment baseline |' in report and 'precision' in report
    assert 'Primary comparison: VKD direct, whitening vs DiffAugment baseline' in report
    assert osp.getsize(out / 'paired.png') > 5000
    assert osp.getsize(out / 'samples.png') > 1000
    # a study run writes nothing into the checkout unless asked (--plot / --grid)
    assert {f: osp.getmtime(osp.join(docs, f)) for f in os.listdir(docs)} == before
