"""Every configs/nckd config builds, computes its losses on a real digits batch and
back-propagates; the NC terms present are exactly the ones the file name promises."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmkd_ext  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'nckd', '*_digits*.py')))
EXPECTED = {
    '': {'loss_nc1', 'loss_nc2', 'bank_coverage'},  # the variant field of the name
    '_nc1-only': {'loss_nc1', 'bank_coverage'},
    '_nc2-only': {'loss_nc2'},
    '_nc3-only': {'bank_coverage'},
}


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_nckd_config_builds_and_steps(path, digits_batch):
    from mmrazor.registry import MODELS
    assert len(CONFIGS) == 4
    cfg = Config.fromfile(path)
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):  # no scope leaks to others
        model = MODELS.build(cfg.model)
    model.train()
    data = model.data_preprocessor(digits_batch(), True)
    losses = model(**data, mode='loss')
    variant = osp.basename(path)[:-len('.py')].split('_digits', 1)[1]
    nc_terms = {k.split('.', 1)[1]
                for k in losses if k.startswith('distill.')} - {'loss_kl'}
    assert nc_terms == EXPECTED[variant]
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    head = model.architecture.head
    if type(head).__name__ == 'NC3Head':  # class weights are buffers, projector trains
        assert not any('fc' in n for n, _ in head.named_parameters())
        assert head.projector.raw_weight.grad is not None if hasattr(
            head.projector, 'raw_weight') else True
        assert model.architecture.head.fc.bank.counts.sum() == 16
