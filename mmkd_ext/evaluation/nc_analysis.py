"""Helpers of the NC analysis tools (``tools/analysis_tools/extract_prototypes.py`` and
``nc_report.py``): build one classifier of a (distillation) config with its weights,
build a dataloader of a split, and collect penultimate features, labels and logits."""
import copy
from typing import Optional

import torch
from mmengine.config import Config

from mmkd_ext.models.utils.classifier_ckpt import load_classifier_checkpoint


def pick_model_cfg(cfg: Config, model_key: Optional[str] = None):
    """The classifier config: ``cfg.model`` or its ``model_key`` sub-config
    (``'teacher'`` / ``'architecture'`` of an MMRazor algorithm).

    Returns:
        tuple: (model config, checkpoint key prefix such as ``'teacher.'`` or '').
    """
    model = copy.deepcopy(cfg.model)
    if model_key in (None, '', 'model'):
        return model, ''
    if model_key not in model:
        raise KeyError(f'--model-key: cfg.model has no "{model_key}" (keys: '
                       f'{sorted(model.keys())})')
    sub = copy.deepcopy(model[model_key])
    if model_key == 'architecture':  # widths the distiller infers (NC3Head), written in
        from mmkd_ext.models.distillers import student_cfg_with_widths
        sub = student_cfg_with_widths(model, model_key)
    if 'data_preprocessor' not in sub and 'data_preprocessor' in model:
        sub['data_preprocessor'] = model['data_preprocessor']
    return sub, model_key + '.'


def load_classifier(cfg: Config,
                    checkpoint: str,
                    model_key: Optional[str] = None,
                    device: str = 'cpu'):
    """Build the classifier and load its weights (weights_only, strict).

    The weights are the ``model_key`` sub-model of a distillation checkpoint (prefix
    ``'teacher.'`` / ``'architecture.'``), or a plain / converted classifier checkpoint
    in any layout of :mod:`mmkd_ext.models.utils.classifier_ckpt`. Raises
    :class:`~mmkd_ext.models.utils.checkpoint.CheckpointError` when they do not fit.
    """
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    model_cfg, prefix = pick_model_cfg(cfg, model_key)
    model_cfg.setdefault('_scope_', 'mmpretrain')
    model = MODELS.build(model_cfg)
    load_classifier_checkpoint(
        model,
        checkpoint,
        key_hint='checkpoint',
        prefix=prefix,
        allowed_missing=(r'num_batches_tracked$', r'^data_preprocessor\.'))
    return model.to(device).eval()


def build_loader(cfg: Config,
                 split: str = 'train',
                 pipeline: str = 'test',
                 batch_size: int = 64):
    """A dataloader over ``cfg.{split}_dataloader.dataset``; ``pipeline='test'`` swaps
    in the test pipeline (no augmentation)."""
    from mmengine.dataset import pseudo_collate
    from mmpretrain.registry import DATASETS
    key = f'{split}_dataloader'
    if key not in cfg:
        raise KeyError(f'--split: the config has no "{key}"')
    ds_cfg = copy.deepcopy(cfg[key].dataset)
    if pipeline == 'test':
        ds_cfg.pipeline = copy.deepcopy(
            cfg.get('test_dataloader', cfg.val_dataloader).dataset.pipeline)
    dataset = DATASETS.build(ds_cfg)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, collate_fn=pseudo_collate)


@torch.no_grad()
def collect_features(model,
                     loader,
                     classifier_layer: str = 'head.fc',
                     progress: bool = True):
    """Penultimate features (input of ``classifier_layer``), labels, logits and the
    classifier weight over a dataloader.

    Returns:
        dict: ``feats`` (N, d), ``labels`` (N,), ``logits`` (N, C), ``weight`` (C, d).
    """
    layer = model.get_submodule(classifier_layer)
    slot = {}
    handle = layer.register_forward_hook(
        lambda m, i, o: slot.update(feat=i[0].detach(), logits=o.detach()))
    feats, labels, logits = [], [], []
    bar = None
    if progress:
        from mmengine.utils import ProgressBar
        bar = ProgressBar(len(loader.dataset))
    try:
        for batch in loader:
            data = model.data_preprocessor(batch, False)
            model(data['inputs'], data['data_samples'], mode='tensor')
            feats.append(slot['feat'].float().cpu())
            logits.append(slot['logits'].float().cpu())
            labels.append(torch.cat([s.gt_label for s in data['data_samples']]).cpu())
            if bar is not None:
                bar.update(len(labels[-1]))
    finally:
        handle.remove()
    return dict(
        feats=torch.cat(feats),
        labels=torch.cat(labels),
        logits=torch.cat(logits),
        weight=layer.weight.detach().float().cpu())
