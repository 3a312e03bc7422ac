"""tools/train.py: a config path that does not exist is a clear error. (Training runs:
tests/integration.)"""


# -- bad inputs (docs/bad_inputs.md) ----------------------------------------------------
def test_b41_train_config_missing(tmp_path, raises, load_tool):
    train = load_tool('tools/train.py')
    args = train.parse_args([str(tmp_path / 'nope.py')])
    raises(FileNotFoundError, lambda: train.build_cfg(args), 'nope.py', 'does not exist')
