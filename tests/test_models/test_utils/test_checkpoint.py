"""mmkd_ext.models.utils.checkpoint: read, unwrap, revise, strict load, one error type."""
from collections import OrderedDict

import pytest
import torch
import torch.nn as nn

import mmkd_ext  # noqa: F401
from mmkd_ext.models.utils.checkpoint import (CheckpointError, UnsafeCheckpointError,
                                              load_checkpoint_strict,
                                              load_state_dict_strict, read_checkpoint,
                                              revise_keys, select_prefix,
                                              unwrap_state_dict)


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))


def test_error_type_has_one_base_and_prints_unquoted():
    err = CheckpointError('teacher_ckpt: "x.pth" holds no state dict')
    assert CheckpointError.__bases__ == (RuntimeError, )  # as torch / MMEngine loaders
    assert UnsafeCheckpointError.__bases__ == (CheckpointError, )
    for cls in (ValueError, KeyError, TypeError, FileNotFoundError):
        assert not isinstance(err, cls)
    assert str(err) == 'teacher_ckpt: "x.pth" holds no state dict'  # no KeyError quotes


def test_read_checkpoint_errors(tmp_path):
    missing = str(tmp_path / 'nope.pth')
    with pytest.raises(
            CheckpointError, match=r'model\.teacher_ckpt.*nope\.pth.*does '
            'not exist'):
        read_checkpoint(missing, 'model.teacher_ckpt')
    bad = tmp_path / 'bad.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(CheckpointError, match='not a readable torch checkpoint'):
        read_checkpoint(str(bad), 'load_from')


def test_read_checkpoint_refuses_pickled_code(tmp_path):
    marker = tmp_path / 'pwned'

    class Exploit:

        def __reduce__(self):
            return (open, (str(marker), 'w'))

    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'x': Exploit()}, path)
    with pytest.raises(UnsafeCheckpointError, match='refused to load'):
        read_checkpoint(str(path), 'model.teacher_ckpt')
    assert not marker.exists()


def test_unwrap_state_dict():
    sd = {'a': torch.zeros(1)}
    assert unwrap_state_dict({'state_dict': sd, 'meta': {}}) is sd
    assert unwrap_state_dict({'model': sd, 'epoch': 3}) is sd
    assert unwrap_state_dict({'model_ema': sd}) is sd
    assert unwrap_state_dict(sd) is sd
    # 'state_dict' wins over 'model'; the key order decides
    other = {'b': torch.ones(1)}
    assert unwrap_state_dict({'model': other, 'state_dict': sd}) is sd
    assert unwrap_state_dict({
        'model': other,
        'state_dict': sd
    }, keys=('model', )) is other
    with pytest.raises(CheckpointError, match=r'x\.pth" holds a list, expected a dict'):
        unwrap_state_dict([1, 2], 'src', 'x.pth')
    with pytest.raises(
            CheckpointError, match=r'holds no state dict.*\[\'epoch\', '
            r'\'optimizer\'\]'):
        unwrap_state_dict({'optimizer': {}, 'epoch': 3}, 'src', 'x.pth')


def test_revise_keys_and_select_prefix():
    sd = OrderedDict([('module.backbone.w', 1), ('module.head.b', 2)])
    out = revise_keys(sd)
    assert list(out) == ['backbone.w', 'head.b']
    out = revise_keys(sd, [(r'^module\.', ''), (r'^backbone\.', 'trunk.')])
    assert list(out) == ['trunk.w', 'head.b'] and list(out.values()) == [1, 2]
    kd = {'architecture.a': 1, 'teacher.a': 2, 'architecture.b': 3}
    assert select_prefix(kd, 'architecture.') == {'a': 1, 'b': 3}
    assert select_prefix(kd, '') == kd
    with pytest.raises(CheckpointError, match=r'--model-key.*"student\."'):
        select_prefix(kd, 'student.', '--model-key', 'kd.pth')


def test_load_state_dict_strict():
    src, dst = _net(), _net()
    with torch.no_grad():
        for p in src.parameters():
            p.add_(1.0)
    sd = src.state_dict()
    load_state_dict_strict(dst, sd)
    for k, v in dst.state_dict().items():
        assert torch.equal(v, sd[k]), k
    # BN counters may be absent by default; nothing else may
    no_counter = {k: v for k, v in sd.items() if not k.endswith('num_batches_tracked')}
    load_state_dict_strict(_net(), no_counter)
    lacking = {k: v for k, v in sd.items() if k != '3.bias'}
    with pytest.raises(
            CheckpointError,
            match=r'teacher_ckpt: checkpoint "t\.pth" does '
            r'not fit Sequential.*1 missing key\(s\): 3\.bias'):
        load_state_dict_strict(_net(), lacking, 'teacher_ckpt', 't.pth')
    net = _net()
    before = net[3].bias.clone()
    load_state_dict_strict(net, lacking, allowed_missing=[r'^3\.bias$'])
    assert torch.equal(net[3].bias, before)
    extra = dict(sd, **{'9.weight': torch.zeros(1)})
    with pytest.raises(CheckpointError, match=r'1 unexpected key\(s\): 9\.weight'):
        load_state_dict_strict(_net(), extra)
    wrong = dict(sd, **{'3.weight': torch.zeros(5, 4)})
    with pytest.raises(
            CheckpointError,
            match=r'layout "cifar".*shape mismatch\(es\): '
            r'3\.weight: file \(5, 4\) vs model \(2, 4\)'):
        load_state_dict_strict(_net(), wrong, layout='cifar')


def test_load_checkpoint_strict(tmp_path):
    src = _net()
    path = tmp_path / 'ckpt.pth'
    wrapped = OrderedDict(('module.' + k, v) for k, v in src.state_dict().items())
    torch.save({'model': wrapped, 'epoch': 3}, path)
    dst = _net()
    with torch.no_grad():
        dst[3].weight.zero_()
    calls = []

    def converter(sd):
        calls.append(list(sd)[0])
        return sd

    loaded = load_checkpoint_strict(
        dst, str(path), 'model.teacher_ckpt', converter=converter)
    assert calls == ['0.weight'] and list(loaded) == list(src.state_dict())
    assert torch.equal(dst[3].weight, src[3].weight)
    with pytest.raises(CheckpointError, match=r'model\.teacher_ckpt.*missing key'):
        load_checkpoint_strict(_net(), str(path), 'model.teacher_ckpt', revise=())
    with pytest.raises(CheckpointError, match='model.teacher_ckpt'):
        load_checkpoint_strict(_net(), str(tmp_path / 'nope.pth'), 'model.teacher_ckpt')
