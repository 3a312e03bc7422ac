"""StrictConfigurableDistiller (logit KD of the digits configs): a recorder source that
is not a module of its model stops the build, naming the config key."""
from mmengine.config import Config

import mmkd_ext  # noqa: F401


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b11_recorder_source_missing_configurable_distiller(raises, razor_build,
                                                            repo_root):
    cfg = Config.fromfile(
        f'{repo_root}/configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py')
    cfg.model.teacher_ckpt = None
    cfg.model.distiller.student_recorders.logits.source = 'head.fcc'
    raises(ValueError, lambda: razor_build(cfg.model), 'student_recorders', 'head.fcc')
