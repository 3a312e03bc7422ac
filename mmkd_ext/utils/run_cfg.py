"""What ``tools/train.py`` and ``tools/test.py`` share, as in MMDetection's / MMPretrain's
tools: the launcher options of the command line and the config they load."""
import os
import os.path as osp

from mmengine.config import Config, DictAction

__all__ = ['add_runner_options', 'parse_runner_args', 'load_cfg']


def add_runner_options(parser,
                       cfg_options_help='override settings of the config, '
                       'key=value'):
    """``--cfg-options key=value ...``, ``--launcher`` and ``--local_rank``."""
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help=cfg_options_help)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser, argv=None):
    """``parser.parse_args(argv)``; ``LOCAL_RANK`` set from ``--local_rank`` when the
    launcher has not set it."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_cfg(args):
    """``args.config`` loaded, with ``--launcher``, ``--cfg-options`` and ``--work-dir``
    (default ``./work_dirs/<config name>``) applied.

    Raises:
        FileNotFoundError: the config file does not exist.
    """
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file "{args.config}" does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg
