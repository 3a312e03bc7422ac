"""tools/model_converters/convert_cifar_teacher.py: a RepDistiller / mdistiller CIFAR-100
checkpoint -> an MMPretrain ImageClassifier checkpoint; the wrong --arch is refused and
nothing is written."""
import pytest
import torch

import mmkd_ext  # noqa: F401
from mmkd_ext.models.utils.checkpoint import CheckpointError


def test_converter_tool(tmp_path, cifar_classifier, repdistiller_state_dict, load_tool):
    tool = load_tool('tools/model_converters/convert_cifar_teacher.py')
    src = cifar_classifier('wrn_16_2')
    path = tmp_path / 'wrn_16_2.pth'
    torch.save({'model': repdistiller_state_dict(src, 'fc'), 'epoch': 240}, path)
    out = tmp_path / 'out' / 'wrn_16_2_mmpretrain.pth'
    tool.main([str(path), str(out), '--arch', 'wrn_16_2'])
    ckpt = torch.load(out, weights_only=True)
    assert ckpt['meta']['arch'] == 'wrn_16_2' and ckpt['meta']['epoch'] == 240
    for k, v in src.state_dict().items():
        assert torch.equal(ckpt['state_dict'][k], v)
    with pytest.raises(CheckpointError, match='missing key'):
        tool.main([str(path), str(tmp_path / 'x.pth'), '--arch', 'wrn_40_2'])


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b40_cifar_converter_wrong_arch(tmp_path, raises, load_tool):
    src = str(tmp_path / 'repdistiller.pth')
    torch.save(
        dict(model={
            'conv1.weight': torch.zeros(16, 3, 3, 3),
            'fc.weight': torch.zeros(100, 64)
        }), src)
    dst = tmp_path / 'out' / 'teacher.pth'
    tool = load_tool('tools/model_converters/convert_cifar_teacher.py')
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as in its own process
        raises(CheckpointError,
               lambda: tool.main([src, str(dst), '--arch', 'resnet8x4']), 'src', src,
               'missing key(s)', 'resnet8x4')
    assert not dst.exists()
