"""The bad-input catalogue (docs/bad_inputs.md): one test per entry.

Each test feeds one bad input to the real component / builder / loader and asserts
the error type AND that the message names the config key or file and what was
expected; none may end in NaN or in a shape error deep inside torch. Where a tool
writes files, no partial output may be left behind. Entries marked ``xfail(strict)``
are known gaps listed in the catalogue (the fix belongs to another file's owner).
The test ids carry the catalogue number: ``test_b03_...`` is entry B3.
"""
import importlib.util
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch

import mmkd_ext  # noqa: F401  (applies compat, registers modules)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VKD_CFG = osp.join(REPO, 'configs/vkd/vkd_resnet18-w8_resnet18-w32_20e_digits_vkd-distiller.py')


@pytest.fixture(autouse=True)
def _pinned_default_scope():
    """Unprefixed types are MMRazor's, whatever earlier tests left as default scope."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


def razor_build(cfg):
    from mmrazor.registry import MODELS
    return MODELS.build(cfg)


def raises(exc_type, fn, *names):
    """Run ``fn``; assert it raises ``exc_type`` whose message holds every name."""
    with pytest.raises(exc_type) as info:
        fn()
    msg = str(info.value)
    for name in names:
        assert name in msg, f'{name!r} not in error message: {msg}'
    return msg


def _tool(rel):
    spec = importlib.util.spec_from_file_location(
        'tool_' + osp.basename(rel)[:-3], osp.join(REPO, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pair(**kw):
    return dict(dict(student='neck', teacher='neck', student_pool='gap',
                     teacher_pool='gap', student_channels=8, teacher_channels=16), **kw)


def _vkd_distiller(**pair):
    return razor_build(dict(type='VKDDistiller', feature_pairs=[_pair(**pair)]))


def _vkd_algorithm(**distiller):
    """The digits VKDDistiller experiment, random teacher (no checkpoint)."""
    from mmengine.config import Config
    cfg = Config.fromfile(VKD_CFG)
    cfg.model.teacher_ckpt = None
    cfg.model.distiller.update(distiller)
    return razor_build(cfg.model)


# -- B1-B9: connectors, normalisers, distiller configs ----------------------------------
def test_b01_connector_in_channels_mismatch():
    conn = razor_build(dict(type='OrthogonalConnector', in_channels=8, out_channels=16))
    for x in (torch.randn(4, 5), torch.randn(2, 3, 5), torch.randn(2, 5, 3, 3)):
        raises(ValueError, lambda: conn(x), '`in_channels`=8', '5 channels')


@pytest.mark.parametrize('key,value', [('in_channels', 0), ('out_channels', -3),
                                       ('in_channels', 8.0), ('out_channels', True)])
def test_b02_connector_bad_channels(key, value):
    cfg = dict(type='OrthogonalConnector', in_channels=8, out_channels=16)
    cfg[key] = value
    raises(ValueError, lambda: razor_build(cfg), f'`{key}`', 'positive int')


def test_b03_unknown_parametrization():
    raises(ValueError, lambda: razor_build(dict(
        type='OrthogonalConnector', in_channels=8, out_channels=16,
        parametrization='qr')), '`parametrization`', "'cholesky_qr'", "'qr'")
    raises(ValueError, lambda: _vkd_distiller(parametrization='qr'),
           '`parametrization`', "'qr'")


@pytest.mark.parametrize('cfg,names', [
    (dict(type='FeatureStandardizer', mode='layer'), ['`mode`', "'sample'", "'layer'"]),
    (dict(type='FeatureWhitener', num_features=4, method='pca'),
     ['`method`', "'cholesky'", "'pca'"]),
])
def test_b04_unknown_normaliser_mode(cfg, names):
    raises(ValueError, lambda: razor_build(cfg), *names)


def test_b05_unknown_normaliser_in_feature_pair():
    raises(ValueError, lambda: _vkd_distiller(normalizer='layernorm'),
           '`feature_pairs[0].normalizer`', "'whiten'", "'layernorm'")


def test_b06_unknown_pool():
    raises(ValueError, lambda: _vkd_distiller(student_pool='max'),
           'feature_pairs[0].student_pool', "'gap'", "'max'")


def test_b07_feature_pair_key_typo():
    pair = _pair()
    pair['studnet_channels'] = pair.pop('student_channels')
    raises(KeyError, lambda: razor_build(dict(type='VKDDistiller', feature_pairs=[pair])),
           'feature_pairs[0]', 'studnet_channels', 'student_channels')


def test_b08_channels_neither_given_nor_inferable():
    # channels left out are inferred by the build-time dry run; without it
    # (dry_run_shape=False) they must be given
    raises(ValueError, lambda: razor_build(dict(
        type='VKDDistiller', dry_run_shape=False,
        feature_pairs=[dict(student='neck', teacher='neck')])),
        'feature_pairs[0]', '`student_channels`', '`dry_run_shape`')


def test_b09_channels_contradict_model():
    pair = _pair(student_channels=None, teacher_channels=7)
    raises(ValueError, lambda: _vkd_algorithm(feature_pairs=[pair]),
           '`feature_pairs[0].teacher_channels`=7', '256 channels')


# -- B10-B11: recorder sources ----------------------------------------------------------
def test_b10_recorder_source_missing_vkd_distiller():
    pair = _pair(student='neckk', student_channels=None, teacher_channels=None)
    raises(ValueError, lambda: _vkd_algorithm(feature_pairs=[pair]),
           'feature_pairs[i].student', '"neckk"', "'neck'")


def test_b11_recorder_source_missing_configurable_distiller():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/kd/kd_resnet18-w8_resnet18-w32_20e_digits.py'))
    cfg.model.teacher_ckpt = None
    cfg.model.distiller.student_recorders.logits.source = 'head.fcc'
    raises(ValueError, lambda: razor_build(cfg.model), 'student_recorders', 'head.fcc')


# -- B12-B17: losses and their features --------------------------------------------------
def test_b12_vkd_loss_shape_mismatch():
    loss = razor_build(dict(type='VKDLoss'))
    raises(ValueError, lambda: loss(torch.randn(4, 8), torch.randn(4, 16)),
           '(4, 8)', '(4, 16)', '`out_channels`')


def test_b13_vkd_loss_unknown_type():
    raises(ValueError, lambda: razor_build(dict(type='VKDLoss', loss_type='kl')),
           '`loss_type`', "'smooth_l1'", "'kl'")


def test_b14_whitener_wrong_num_features():
    w = razor_build(dict(type='FeatureWhitener', num_features=8))
    raises(ValueError, lambda: w(torch.randn(4, 9)), '`num_features`=8', '9 channels')


@pytest.mark.parametrize('cfg', [dict(type='FeatureWhitener', num_features=8),
                                 dict(type='FeatureStandardizer', mode='batch')])
def test_b15_batch_statistics_with_batch_one(cfg):
    raises(ValueError, lambda: razor_build(cfg)(torch.randn(1, 8)),
           'at least 2 tokens', '(1, 8)')


@pytest.mark.parametrize('method', ['cholesky', 'zca'])
def test_b16_nonfinite_features_reach_whitener(method):
    w = razor_build(dict(type='FeatureWhitener', num_features=8, method=method))
    x = torch.randn(6, 8)
    x[2, 3] = float('nan')
    raises(ValueError, lambda: w(x), 'FeatureWhitener', 'NaN', 'expected finite')


def test_b17_nonfinite_loss_stops_training(tmp_path):
    """NaN features reach the VKD / KD losses in a real run (NaN pixel mean): the
    CheckFiniteLossHook stops at iteration 1 naming the terms; no checkpoint written."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(VKD_CFG)
    cfg.work_dir = str(tmp_path)
    cfg.model.teacher_ckpt = None
    cfg.model.data_preprocessor.mean = [float('nan')] * 3
    cfg.default_hooks.check_finite = dict(type='mmkd_ext.CheckFiniteLossHook')
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1,
                                        by_epoch=False)
    cfg.train_dataloader.batch_size = 8
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(by_epoch=True, max_epochs=1, val_interval=100)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    runner = Runner.from_cfg(cfg)
    raises(FloatingPointError, runner.train, 'iteration 1', 'loss_vkd0', 'loss_kl',
           'expected finite')
    assert not list(tmp_path.rglob('*.pth'))


def test_b17_check_finite_values():
    from mmkd_ext.engine.check_finite_loss_hook import nonfinite_losses
    out = dict(loss=torch.tensor(float('inf')), loss_a=torch.tensor(1.0),
               loss_b=torch.tensor([1.0, float('nan')]), acc=2.0, loss_c=math.nan)
    assert nonfinite_losses(out) == ['loss', 'loss_b', 'loss_c']
    assert nonfinite_losses(dict(loss=torch.tensor(0.5))) == []


@pytest.mark.parametrize('name', ['vkd', 'nc1', 'nc2'])
def test_b18_empty_batch(name):
    if name == 'vkd':
        loss = razor_build(dict(type='VKDLoss'))
        fn = lambda: loss(torch.randn(0, 8), torch.randn(0, 8))  # noqa: E731
        names = ['VKDLoss', 'empty', 'at least one']
    elif name == 'nc1':
        loss = razor_build(dict(type='NC1AlignLoss',
                                bank=dict(num_classes=3, feat_dim=4, name=None)))
        fn = lambda: loss(torch.randn(0, 4), torch.zeros(0, dtype=torch.long))  # noqa
        names = ['NC1AlignLoss', 'empty batch', 'at least one']
    else:
        loss = razor_build(dict(type='NC2StructureLoss'))
        fn = lambda: loss(torch.randn(0, 4), torch.zeros(0, dtype=torch.long),  # noqa
                          torch.randn(0, 6))
        names = ['NC2StructureLoss', 'empty batch', 'at least one']
    raises(ValueError, fn, *names)


def test_b19_one_class_batch_is_finite():
    """Documented behaviour, not an error: NC2 on a one-class batch is 0 with finite
    gradients; NC1 stays finite."""
    nc2 = razor_build(dict(type='NC2StructureLoss'))
    s = torch.randn(5, 4, requires_grad=True)
    labels = torch.full((5, ), 2)
    out = nc2(s, labels, torch.randn(5, 6))
    out.backward()
    assert out.item() == 0 and torch.isfinite(s.grad).all()
    bank = dict(num_classes=3, feat_dim=4, name=None)
    nc1 = razor_build(dict(type='NC1AlignLoss', bank=bank))
    nc1.bank.update(torch.randn(5, 4), labels)
    s = torch.randn(5, 4, requires_grad=True)
    out = nc1(s, labels)
    out.backward()
    assert torch.isfinite(out) and torch.isfinite(s.grad).all()


# -- B20-B23: labels and prototype banks -------------------------------------------------
@pytest.mark.parametrize('labels', [None, [0, 1, 2, 1], torch.rand(4, 3),
                                    torch.tensor([0, 1])])
def test_b20_nc_loss_without_valid_labels(labels):
    loss = razor_build(dict(type='NC2StructureLoss'))
    exc = ValueError if isinstance(labels, torch.Tensor) and \
        not labels.is_floating_point() else TypeError
    raises(exc, lambda: loss(torch.randn(4, 4), labels, torch.randn(4, 6)),
           'NC2StructureLoss labels', 'expected')


@pytest.mark.parametrize('bad', [3, -1])
def test_b21_labels_out_of_range(bad):
    bank = dict(num_classes=3, feat_dim=4, name=None)
    nc1 = razor_build(dict(type='NC1AlignLoss', bank=bank))
    labels = torch.tensor([0, 1, 2, bad])
    raises(ValueError, lambda: nc1.bank(torch.randn(4, 4), labels),
           'must lie in [0, 3)', 'bank.num_classes')
    nc1.bank.update(torch.randn(3, 4), torch.tensor([0, 1, 2]))
    raises(ValueError, lambda: nc1(torch.randn(4, 4), labels),
           'NC1AlignLoss labels', '[0, 3)', 'bank.num_classes')


def test_b22_nc_loss_before_bank_filled():
    nc1 = razor_build(dict(type='NC1AlignLoss',
                           bank=dict(num_classes=3, feat_dim=4, name=None)))
    raises(RuntimeError, lambda: nc1(torch.randn(4, 4), torch.tensor([0, 1, 2, 0])),
           'NC1AlignLoss', 'holds no teacher statistics', 'distill_losses')


def _bank(path):
    from mmkd_ext.models.utils.prototype_bank import PrototypeBank
    return PrototypeBank(3, 4, mode='file', path=str(path))


def test_b23_prototype_file_bad(tmp_path):
    raises(FileNotFoundError, lambda: _bank(tmp_path / 'none.pth'), 'bank.path',
           'none.pth')
    torch.save(torch.randn(5, 4), tmp_path / 'shape.pth')
    raises(ValueError, lambda: _bank(tmp_path / 'shape.pth'), 'bank.path', '(5, 4)',
           '(3, 4)')
    torch.save(dict(means=torch.randn(3, 4)), tmp_path / 'keys.pth')
    raises(KeyError, lambda: _bank(tmp_path / 'keys.pth'), 'bank.path', 'prototypes')
    nan = torch.randn(3, 4)
    nan[1, 1] = float('nan')
    torch.save(nan, tmp_path / 'nan.pth')
    raises(ValueError, lambda: _bank(tmp_path / 'nan.pth'), 'bank.path', 'NaN')


def test_b24_nc3_head_dimension_mismatch():
    from mmpretrain.registry import MODELS
    raises(ValueError, lambda: MODELS.build(dict(
        type='mmpretrain.NC3Head', num_classes=3, in_channels=8,
        bank=dict(num_classes=3, feat_dim=16, name=None),
        projector=dict(type='OrthogonalConnector', in_channels=8, out_channels=12))),
        'projector.out_channels=12', 'bank.feat_dim')


# -- B25-B29: checkpoints ---------------------------------------------------------------
@pytest.fixture(scope='module')
def teacher_files(tmp_path_factory):
    """Checkpoints for the digits teacher: good, wrong keys, wrong shapes, corrupt."""
    from mmengine.config import Config
    from mmpretrain.registry import MODELS
    tmp = tmp_path_factory.mktemp('teacher')
    cfg = Config.fromfile(VKD_CFG)
    teacher = MODELS.build(cfg.model.teacher)
    sd = teacher.state_dict()
    files = dict(missing=str(tmp / 'missing.pth'))
    files['good'] = str(tmp / 'good.pth')
    torch.save(dict(state_dict=sd), files['good'])
    keys = {('module.x' + k if i < 3 else k): v for i, (k, v) in enumerate(sd.items())}
    files['keys'] = str(tmp / 'keys.pth')
    torch.save(dict(state_dict=keys), files['keys'])
    shape = dict(sd, **{'head.fc.weight': torch.zeros(7, 3)})
    files['shape'] = str(tmp / 'shape.pth')
    torch.save(dict(state_dict=shape), files['shape'])
    data = open(files['good'], 'rb').read()
    for name, content in (('truncated', data[:len(data) // 2]),
                          ('garbage', b'not a checkpoint at all'), ('empty', b'')):
        files[name] = str(tmp / f'{name}.pth')
        with open(files[name], 'wb') as f:
            f.write(content)
    return files


def _strict_teacher(path, algorithm='StrictTeacherDistill'):
    from mmengine.config import Config
    cfg = Config.fromfile(VKD_CFG)
    cfg.model.type = algorithm
    cfg.model.teacher_ckpt = path
    return razor_build(cfg.model)


def test_b25_teacher_checkpoint_missing(teacher_files):
    path = teacher_files['missing']
    raises(FileNotFoundError, lambda: _strict_teacher(path), 'model.teacher_ckpt',
           path, 'does not exist')
    raises(FileNotFoundError, lambda: _strict_teacher(path, 'SingleTeacherDistill'),
           path, 'does not exist')


def test_b26_teacher_checkpoint_wrong_keys(teacher_files):
    path = teacher_files['keys']
    raises(ValueError, lambda: _strict_teacher(path), 'model.teacher_ckpt', path,
           '3 missing key(s)', 'backbone.conv1.weight', 'unexpected')


def test_b26_shipped_config_refuses_wrong_keys(teacher_files):
    from mmengine.config import Config
    cfg = Config.fromfile(VKD_CFG)
    cfg.model.teacher_ckpt = teacher_files['keys']
    raises(ValueError, lambda: razor_build(cfg.model), 'teacher_ckpt')


def test_b27_teacher_checkpoint_wrong_shapes(teacher_files):
    path = teacher_files['shape']
    raises(ValueError, lambda: _strict_teacher(path), 'model.teacher_ckpt', path,
           'shape mismatch', 'head.fc.weight: file (7, 3) vs model (10, 256)')


@pytest.mark.parametrize('kind', ['truncated', 'garbage', 'empty'])
def test_b28_corrupted_checkpoint(teacher_files, kind):
    from mmengine.runner.checkpoint import CheckpointLoader
    path = teacher_files[kind]
    raises(RuntimeError, lambda: _strict_teacher(path), 'model.teacher_ckpt', path,
           'not a readable torch checkpoint')
    raises(RuntimeError, lambda: CheckpointLoader.load_checkpoint(path, 'cpu'), path,
           'not a readable torch checkpoint')


def test_b29_load_from_missing(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    path = str(tmp_path / 'epoch_3.pth')
    raises(FileNotFoundError, lambda: CheckpointLoader.load_checkpoint(path, 'cpu'),
           path, 'does not exist')


# -- B30-B35: datasets ------------------------------------------------------------------
def _coco(tmp_path, images, with_file=True):
    root = tmp_path / 'coco'
    (root / 'annotations').mkdir(parents=True)
    (root / 'train').mkdir()
    anns = [dict(id=i + 1, image_id=img['id'], category_id=1, bbox=[1, 1, 4, 4],
                 area=16, iscrowd=0) for i, img in enumerate(images)]
    ann = root / 'annotations' / 'instances_train.json'
    ann.write_text(json.dumps(dict(images=images, annotations=anns,
                                   categories=[dict(id=1, name='0')])))
    if with_file:
        from PIL import Image
        for img in images:
            Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(
                root / 'train' / img['file_name'])
    return str(root)


def _coco_dataset(root, ann='annotations/instances_train.json'):
    from mmdet.registry import DATASETS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(dict(
            type='StrictCocoDataset', data_root=root, ann_file=ann,
            data_prefix=dict(img='train/'), metainfo=dict(classes=('0', )),
            filter_cfg=dict(filter_empty_gt=False),
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(type='LoadAnnotations', with_bbox=True),
                      dict(type='PackDetInputs')]))


def test_b30_missing_annotation_file(tmp_path):
    root = _coco(tmp_path, [])
    raises(FileNotFoundError, lambda: _coco_dataset(root, 'annotations/nope.json'),
           'nope.json')


def test_b31_empty_dataset(tmp_path):
    root = _coco(tmp_path, [])
    raises(ValueError, lambda: _coco_dataset(root), 'instances_train.json', 'empty')


def test_b32_image_missing_on_disk(tmp_path):
    root = _coco(tmp_path, [dict(id=1, file_name='a.png', width=16, height=16)],
                 with_file=False)
    ds = _coco_dataset(root)
    raises(FileNotFoundError, lambda: ds[0], osp.join('train', 'a.png'))


def test_b33_cifar_files_missing(tmp_path):
    from mmpretrain.registry import DATASETS

    from mmkd_ext.datasets import CIFARGANDataset
    raises(FileNotFoundError, lambda: DATASETS.build(dict(
        type='mmpretrain.LocalCIFAR100', data_root=str(tmp_path), split='train')),
        osp.join('cifar-100-python', 'train'), 'does not exist')
    raises(FileNotFoundError, lambda: CIFARGANDataset(str(tmp_path / 'nope')),
           'dataset.data_root', 'nope', 'cifar-10-batches-py')


@pytest.mark.parametrize('kwargs,names', [
    (dict(split='val'), ["'train'", "'val'"]),
    (dict(subset_ratio=0.0), ['subset_ratio', '(0, 1]']),
    (dict(img_size=4), ['img_size', '>= 8']),
])
def test_b34_digits_dataset_bad_arguments(kwargs, names):
    from mmkd_ext.datasets import DigitsDataset
    raises(ValueError, lambda: DigitsDataset(**kwargs), *names)


@pytest.mark.parametrize('argv,names', [
    (['--canvas-size', '16'], ['canvas_size 16', 'too small', 'max_size 24']),
    (['--canvas-size', '40', '--max-digits', '3'], ['canvas_size 40', 'too small',
                                                    '--canvas-size']),
])
def test_b35_digits_canvas_too_small(tmp_path, argv, names):
    out = tmp_path / 'digits_coco'
    tool = _tool('tools/dataset_converters/make_digits_coco.py')
    raises(ValueError, lambda: tool.main(['--out-dir', str(out), *argv]), *names)
    assert not out.exists(), 'partial output left behind'


# -- B36-B38: GAN -----------------------------------------------------------------------
def test_b36_gan_teacher_embedding_mismatch():
    from mmkd_ext.registry import MODELS
    kd = MODELS.build(dict(type='mmkd_ext.DiscriminatorKD', student_dim=8, teacher_dim=16,
                           connector=dict(type='OrthogonalConnector'),
                           normalizer='whiten'))
    s = torch.randn(4, 8)
    raises(ValueError, lambda: kd(s, s, torch.randn(4, 12), torch.randn(4, 12)),
           'distill.teacher_dim', '(N, 16)', '(4, 12)')


def test_b37_gan_teacher_input_size_mismatch():
    from mmkd_ext.models.gans.frozen_encoder import FrozenImageEncoder
    vit = dict(type='mmpretrain.VisionTransformer', arch='deit-tiny', img_size=32,
               patch_size=8, out_type='cls_token')
    enc = FrozenImageEncoder(backbone=vit)
    raises(ValueError, lambda: enc(torch.rand(2, 3, 16, 16) * 2 - 1), '(16, 16)',
           'img_size=(32, 32)', '`scale_factor`')
    assert FrozenImageEncoder(backbone=vit, scale_factor=2)(
        torch.rand(2, 3, 16, 16) * 2 - 1).shape == (2, 192)
    raises(ValueError, lambda: FrozenImageEncoder(backbone=vit, input_size=32,
                                                  scale_factor=2, key_hint='model.teacher'),
           'model.teacher', 'input_size or scale_factor')


def test_b38_gan_metric_weights_not_set(tmp_path, monkeypatch):
    from mmkd_ext.evaluation import gan_feature_extractors as gfe
    # weights=None: torch-fidelity's download, which fails (no server on this port)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))
    monkeypatch.setattr(gfe, '_fid_inception_url', lambda: 'http://127.0.0.1:9/w.pth')
    raises(FileNotFoundError, lambda: gfe.InceptionV3FeatureExtractor(weights=None),
           'feature_extractor.weights', 'downloading the FID Inception weights',
           gfe.FID_INCEPTION_FILE)


# -- B39-B41: tools ---------------------------------------------------------------------
def test_b39_converter_not_a_distillation_checkpoint(tmp_path):
    src = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict={'backbone.w': torch.zeros(1)}), src)
    dst = tmp_path / 'out' / 'student.pth'
    tool = _tool('tools/model_converters/convert_kd_ckpt_to_student.py')
    raises(KeyError, lambda: tool.main([src, str(dst)]), 'architecture.', '--prefix')
    assert not dst.exists() and not osp.exists(str(dst) + '.tmp')


def test_b40_cifar_converter_wrong_arch(tmp_path):
    src = str(tmp_path / 'repdistiller.pth')
    torch.save(dict(model={'conv1.weight': torch.zeros(16, 3, 3, 3),
                           'fc.weight': torch.zeros(100, 64)}), src)
    dst = tmp_path / 'out' / 'teacher.pth'
    tool = _tool('tools/model_converters/convert_cifar_teacher.py')
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as in its own process
        raises(ValueError, lambda: tool.main([src, str(dst), '--arch', 'resnet8x4']),
               'src', src, 'missing key(s)', 'resnet8x4')
    assert not dst.exists()


def test_b41_train_config_missing(tmp_path):
    train = _tool('tools/train.py')
    args = train.parse_args([str(tmp_path / 'nope.py')])
    raises(FileNotFoundError, lambda: train.build_cfg(args), 'nope.py',
           'does not exist')
