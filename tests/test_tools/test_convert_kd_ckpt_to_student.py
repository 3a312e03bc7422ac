"""tools/model_converters/convert_kd_ckpt_to_student.py: a checkpoint that is not a
distillation checkpoint is refused, naming the prefix option; nothing is written.
(The conversion itself: tests/integration/test_kd_pipeline.py.)"""
import os.path as osp

import torch

from mmkd_ext.models.utils.checkpoint import CheckpointError


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b39_converter_not_a_distillation_checkpoint(tmp_path, raises, load_tool):
    src = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict={'backbone.w': torch.zeros(1)}), src)
    dst = tmp_path / 'out' / 'student.pth'
    tool = load_tool('tools/model_converters/convert_kd_ckpt_to_student.py')
    raises(CheckpointError, lambda: tool.main([src, str(dst)]), 'architecture.',
           '--prefix')
    assert not dst.exists() and not osp.exists(str(dst) + '.tmp')
