"""PrototypeBank: exact running means, EMA, files, sharing, checkpoints, two ranks."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from mmkd_ext.models.utils.checkpoint import CheckpointError
from mmkd_ext.models.utils.prototype_bank import PrototypeBank, build_prototype_bank


def _batches(seed, n=4, c=6, d=5):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(8, d, generator=g), torch.randint(0, c, (8, ), generator=g))
            for _ in range(n)]


def test_online_equals_exact_running_means():
    bank = PrototypeBank(6, 5)
    seen_x, seen_y = [], []
    for x, y in _batches(0):
        cov = bank(x, y)
        seen_x.append(x)
        seen_y.append(y)
        allx, ally = torch.cat(seen_x), torch.cat(seen_y)
        for k in range(6):
            mask = ally == k
            assert bank.counts[k] == mask.sum()
            if mask.any():
                torch.testing.assert_close(bank.means[k], allx[mask].mean(0))
        assert cov.item() == pytest.approx((bank.counts > 0).float().mean().item())
    protos = bank.prototypes
    seen = bank.counts > 0
    assert torch.allclose(protos[seen].norm(dim=1), torch.ones(int(seen.sum())))
    torch.testing.assert_close(bank.global_mean, bank.means[seen].mean(0))
    bank.eval()
    before = bank.means.clone()
    bank(*_batches(9)[0])
    assert torch.equal(before, bank.means)  # no update in eval mode


def test_ema_update():
    bank = PrototypeBank(3, 2, momentum=0.5)
    bank(torch.tensor([[2.0, 0.0]]), torch.tensor([1]))
    torch.testing.assert_close(bank.means[1], torch.tensor([2.0, 0.0]))
    bank(torch.tensor([[0.0, 4.0]]), torch.tensor([1]))
    torch.testing.assert_close(bank.means[1], torch.tensor([1.0, 2.0]))
    assert bank.means[0].abs().sum() == 0


def test_prototypes_not_modified_in_place():
    bank = PrototypeBank(3, 2)
    bank(torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2]))
    p = bank.prototypes
    old = p.clone()
    bank(torch.randn(6, 2), torch.tensor([0, 1, 2, 0, 1, 2]))
    assert torch.equal(p, old) and not torch.equal(bank.prototypes, old)


def test_owned_or_referenced_bank():
    """A config dict builds a bank the module owns (in its state dict); a bank module
    is a reference (its owner saves it); a module owning a bank takes no other."""
    import torch.nn as nn

    from mmkd_ext.models.utils.prototype_bank import attach_bank
    cfg = dict(type='PrototypeBank', num_classes=4, feat_dim=3, name='test_share')
    owner, user = nn.Module(), nn.Module()
    attach_bank(owner, cfg, 'Owner')
    attach_bank(user, owner.bank, 'User')
    assert user.bank is owner.bank and isinstance(owner.bank, PrototypeBank)
    assert 'bank.means' in owner.state_dict() and user.state_dict() == {}
    owner.bank(torch.randn(4, 3), torch.arange(4))
    assert user.bank.counts.sum() == 4  # one update serves every consumer
    with pytest.raises(ValueError, match='builds its own PrototypeBank'):
        attach_bank(owner, PrototypeBank(4, 3), 'Owner')
    # two builds give two banks: no state is shared between models built one after
    # the other (no module-level table)
    assert build_prototype_bank(cfg) is not build_prototype_bank(cfg)
    assert build_prototype_bank(cfg).counts.sum() == 0


def test_file_mode(tmp_path):
    protos = torch.randn(4, 3)
    path = tmp_path / 'protos.pth'
    torch.save(dict(prototypes=protos, counts=torch.arange(1.0, 5.0)), path)
    bank = PrototypeBank(4, 3, mode='file', path=str(path))
    torch.testing.assert_close(bank.means, protos)
    bank(torch.randn(2, 3), torch.tensor([0, 1]))  # file banks never update
    torch.testing.assert_close(bank.means, protos)
    torch.save(protos, tmp_path / 'raw.pth')
    torch.testing.assert_close(
        PrototypeBank(4, 3, mode='file', path=str(tmp_path / 'raw.pth')).means, protos)
    with pytest.raises(CheckpointError, match='bank.path'):
        PrototypeBank(4, 3, mode='file', path=str(tmp_path / 'missing.pth'))
    with pytest.raises(
            CheckpointError, match=r'expected \(num_classes, feat_dim\) = \(5, 3\)'):
        PrototypeBank(5, 3, mode='file', path=str(path))
    torch.save(dict(weights=protos), tmp_path / 'bad.pth')
    with pytest.raises(CheckpointError, match='prototypes'):
        PrototypeBank(4, 3, mode='file', path=str(tmp_path / 'bad.pth'))


def test_bad_input_errors():
    bank = PrototypeBank(4, 3)
    with pytest.raises(ValueError, match=r'\(N, 3\)'):
        bank(torch.randn(2, 5), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match='Mixup'):
        bank(torch.randn(2, 3), torch.rand(2, 4))
    with pytest.raises(ValueError, match='num_classes'):
        bank(torch.randn(2, 3), torch.tensor([0, 7]))
    empty = PrototypeBank(4, 3)
    with pytest.raises(RuntimeError, match='distill_losses'):
        empty.check_filled('NC1AlignLoss')


def test_checkpoint_round_trip_and_resume(tmp_path):
    from mmkd_ext.models.utils.checkpoint import safe_torch_load
    batches = _batches(3)
    bank = PrototypeBank(6, 5)
    for x, y in batches[:2]:
        bank(x, y)
    torch.save(dict(state_dict=bank.state_dict()), tmp_path / 'ckpt.pth')
    resumed = PrototypeBank(6, 5)
    assert resumed.prototypes.abs().sum() == 0
    resumed.load_state_dict(safe_torch_load(tmp_path / 'ckpt.pth')['state_dict'])
    torch.testing.assert_close(resumed.prototypes, bank.prototypes)  # cache refreshed
    for x, y in batches[2:]:
        resumed(x, y)
    fresh = PrototypeBank(6, 5)
    for x, y in batches:
        fresh(x, y)
    torch.testing.assert_close(resumed.means, fresh.means)
    torch.testing.assert_close(resumed.counts, fresh.counts)


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _rank_worker(rank, port, out_dir):
    import torch.distributed as tdist
    tdist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
    bank = PrototypeBank(6, 5)
    for x, y in _batches(100 + rank):  # every rank sees different data
        bank(x, y)
    torch.save(
        dict(means=bank.means, counts=bank.counts),
        os.path.join(out_dir, f'rank{rank}.pth'))
    tdist.destroy_process_group()


def test_two_ranks_hold_identical_prototypes(tmp_path):
    mp.start_processes(
        _rank_worker, args=(_free_port(), str(tmp_path)), nprocs=2, start_method='fork')
    r0 = torch.load(tmp_path / 'rank0.pth')
    r1 = torch.load(tmp_path / 'rank1.pth')
    assert torch.equal(r0['means'], r1['means']) and torch.equal(
        r0['counts'], r1['counts'])
    allx = torch.cat([x for r in (0, 1) for x, _ in _batches(100 + r)])
    ally = torch.cat([y for r in (0, 1) for _, y in _batches(100 + r)])
    for k in range(6):
        if (ally == k).any():
            torch.testing.assert_close(r0['means'][k], allx[ally == k].mean(0))
        assert r0['counts'][k] == (ally == k).sum()


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def _bank(path):
    return PrototypeBank(3, 4, mode='file', path=str(path))


def test_b23_prototype_file_bad(tmp_path, raises):
    raises(CheckpointError, lambda: _bank(tmp_path / 'none.pth'), 'bank.path', 'none.pth')
    torch.save(torch.randn(5, 4), tmp_path / 'shape.pth')
    raises(CheckpointError, lambda: _bank(tmp_path / 'shape.pth'), 'bank.path', '(5, 4)',
           '(3, 4)')
    torch.save(dict(means=torch.randn(3, 4)), tmp_path / 'keys.pth')
    raises(CheckpointError, lambda: _bank(tmp_path / 'keys.pth'), 'bank.path',
           'prototypes')
    nan = torch.randn(3, 4)
    nan[1, 1] = float('nan')
    torch.save(nan, tmp_path / 'nan.pth')
    raises(CheckpointError, lambda: _bank(tmp_path / 'nan.pth'), 'bank.path', 'NaN')
