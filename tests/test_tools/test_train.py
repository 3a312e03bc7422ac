"""tools/train.py: a config path that does not exist is a clear error. (Training runs:
tests/integration.)"""


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b41_train_config_missing(tmp_path, raises, load_tool):
    train = load_tool('tools/train.py')
    args = train.parse_args([str(tmp_path / 'nope.py')])
    raises(FileNotFoundError, lambda: train.build_cfg(args), 'nope.py', 'does not exist')


# -- the users' own command without data on disk (issue 18) -----------------------------
def test_entry_point_without_coco_stops_with_a_short_message(repo_root, tmp_path,
                                                             monkeypatch, capsys,
                                                             load_tool):
    """``tools/train.py configs/vkd/vidt_swin_nano_coco.py`` on a machine without COCO
    stops before anything is built, naming the missing ``data/coco`` paths, the teacher
    key and where the docs say how to get them (no stack trace from the dataset)."""
    import os.path as osp

    import pytest
    train = load_tool('tools/train.py')
    monkeypatch.chdir(tmp_path)  # relative data/coco/... and work_dirs/... are absent
    config = osp.join(repo_root, 'configs/vkd/vidt_swin_nano_coco.py')
    with pytest.raises(SystemExit) as info:
        train.main([config])
    msg = str(info.value.code)
    for part in ('vidt_swin_nano_coco.py: cannot train',
                 'train_dataloader.dataset.data_root', 'data/coco/', 'model.teacher_ckpt',
                 'work_dirs/vidt_swin-base_50e_coco/epoch_50.pth', 'docs/detection.md',
                 '--cfg-options'):
        assert part in msg, f'{part!r} not in: {msg}'
    assert len(msg.splitlines()) <= 8, msg
    assert not osp.exists(
        tmp_path / 'work_dirs'), 'nothing may be written before the stop'


def test_preflight_passes_when_inputs_exist(tmp_path):
    """With the data and the teacher file on disk nothing is reported; remote and None
    checkpoints are the loaders' business; a missing ``ann_file`` is reported joined
    with its ``data_root``."""
    from mmengine.config import Config

    from mmkd_ext.utils.preflight import missing_inputs
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'train.json').write_text('{}')
    teacher = tmp_path / 'teacher.pth'
    teacher.write_bytes(b'x')
    cfg = Config(
        dict(
            model=dict(
                teacher_ckpt=str(teacher),
                backbone=dict(
                    init_cfg=dict(type='Pretrained', checkpoint='https://x/y.pth')),
                teacher=dict(checkpoint=None)),
            train_dataloader=dict(
                dataset=dict(
                    type='RepeatDataset',
                    dataset=dict(data_root=str(root),
                                 ann_file='annotations/train.json'))),
            val_dataloader=dict(
                dataset=dict(data_root=str(root), ann_file='annotations/val.json')),
            val_evaluator=dict(ann_file=str(root / 'annotations' / 'train.json'))))
    assert missing_inputs(cfg) == [('data', 'val_dataloader.dataset.ann_file',
                                    str(root / 'annotations' / 'val.json'))]
    assert missing_inputs(cfg, stage='test') == []
