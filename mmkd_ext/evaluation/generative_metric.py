"""FID / IS / precision-recall-density-coverage as one MMEngine metric.

The GAN's ``val_step`` returns ``dict(fake_img=(3, H, W) in [-1, 1], ...)`` per sample
(EMA generator on :class:`GANNoiseDataset` noise: the number of evaluated samples is that
dataset's ``num_samples``). ``process`` embeds each batch with the frozen
``feature_extractor`` right away (only features are kept); ``compute_metrics`` compares
them with the reference features of ``real_dataset`` (the **test** split), computed once
per metric object (optionally cached in ``real_stats_cache``, an ``.npz`` file).

Output keys: ``FID``, ``IS``, ``IS_std``, ``precision``, ``recall``, ``density``,
``coverage`` (prefixed ``<prefix>/``). Best-FID checkpoints:
``default_hooks.checkpoint.save_best='<prefix>/FID', rule='less'``.
Formulas: :mod:`mmkd_ext.evaluation.gan_functional`. With
``InceptionV3FeatureExtractor`` (torch-fidelity's FID Inception) FID and IS equal
``torch_fidelity.calculate_metrics`` on the same images (tested to 1e-4 relative), and
PRDC equals Naeem et al.'s ``prdc`` package on the same features.
"""
import json
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmkd_ext.registry import DATASETS, METRICS, MODELS
from .gan_functional import feature_stats, frechet_distance, inception_score, prdc

_VALID = ('FID', 'IS', 'PRDC')


@METRICS.register_module()
class GenerativeMetric(BaseMetric):
    """Generation quality of EMA-G samples on the features of any extractor.

    Args:
        feature_extractor (dict): e.g. ``dict(type='InceptionV3FeatureExtractor',
            weights='data/inception/inception_v3.pth')`` or
            ``dict(type='ClassifierFeatureExtractor', model=..., checkpoint=...)``.
        real_dataset (dict): reference images, e.g. ``dict(type='CIFARGANDataset',
            data_root=..., split='test')``.
        metric_items (seq of str): subset of ``('FID', 'IS', 'PRDC')`` (not named
            ``metrics``: the runner reads that key as an Evaluator config).
        prdc_k (int): k of PRDC. Defaults to 5.
        prdc_num (int): real / fake samples used by PRDC (first ones). Default 5000.
        is_splits (int): IS splits. Defaults to 10.
        batch_size (int): batch size for embedding real images. Defaults to 100.
        real_stats_cache (str, optional): ``.npz`` file caching real features.
        device (str, optional): where the extractor runs; default: the samples' device.
        prefix (str): metric prefix. Defaults to ``'gen'``.
    """
    default_prefix = 'gen'

    def __init__(self,
                 feature_extractor: dict,
                 real_dataset: dict,
                 metric_items: Sequence[str] = _VALID,
                 prdc_k: int = 5,
                 prdc_num: int = 5000,
                 is_splits: int = 10,
                 batch_size: int = 100,
                 real_stats_cache: Optional[str] = None,
                 device: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        bad = [m for m in metric_items if m not in _VALID]
        if bad or not metric_items:
            raise ValueError(f'val_evaluator.metric_items must be a non-empty subset '
                             f'of {_VALID}, got {list(metric_items)}')
        self.metrics = tuple(metric_items)
        self.extractor = MODELS.build(feature_extractor)  # fails early if no weights
        self.real_dataset_cfg = real_dataset
        self.prdc_k, self.prdc_num, self.is_splits = prdc_k, prdc_num, is_splits
        self.batch_size, self.real_stats_cache = batch_size, real_stats_cache
        self.device = device
        self._real_feats = None
        # identifies the features in real_stats_cache (a cache of another extractor
        # or reference set is recomputed, not reused)
        self._cache_tag = json.dumps(
            dict(feature_extractor=feature_extractor, real_dataset=real_dataset),
            sort_keys=True,
            default=str)

    def _embed(self, imgs):
        device = self.device or imgs.device
        self.extractor.to(device)
        feat, logits = self.extractor(imgs.to(device))
        return feat.cpu(), (logits.cpu() if logits is not None else None)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if not data_samples:
            return
        if 'fake_img' not in data_samples[0]:
            raise KeyError('GenerativeMetric expects val_step outputs with '
                           f'"fake_img", got keys {sorted(data_samples[0])}')
        imgs = torch.stack([s['fake_img'] for s in data_samples])
        feat, logits = self._embed(imgs)
        for i in range(feat.shape[0]):
            self.results.append(
                dict(feat=feat[i], logits=None if logits is None else logits[i]))

    def real_features(self) -> torch.Tensor:
        """Features of the whole reference dataset (computed once, then cached)."""
        if self._real_feats is not None:
            return self._real_feats
        cache = self.real_stats_cache
        if cache and osp.isfile(cache):
            with np.load(cache) as data:
                tag = str(data['tag']) if 'tag' in data.files else None
                if tag == self._cache_tag:
                    self._real_feats = torch.from_numpy(data['feat'])
                    return self._real_feats
            from mmengine.logging import MMLogger
            MMLogger.get_current_instance().warning(
                f'real_stats_cache "{cache}" holds features of another feature '
                'extractor / reference set: recomputing and overwriting it')
        dataset = DATASETS.build(self.real_dataset_cfg)
        feats = []
        for start in range(0, len(dataset), self.batch_size):
            items = [
                dataset[i]
                for i in range(start, min(start + self.batch_size, len(dataset)))
            ]
            # uint8 pixels as stored: the extractor quantises nothing for them
            imgs = torch.stack([torch.as_tensor(it['inputs']) for it in items])
            if self.device is None:
                param = next(self.extractor.parameters(), None)
                imgs = imgs.to(param.device if param is not None else 'cpu')
            feats.append(self._embed(imgs)[0])
        self._real_feats = torch.cat(feats)
        if cache:
            np.savez(cache, feat=self._real_feats.numpy(), tag=np.array(self._cache_tag))
        return self._real_feats

    def compute_metrics(self, results: list) -> dict:
        fake = torch.stack([r['feat'] for r in results])
        real = self.real_features()
        out = {}
        if 'FID' in self.metrics:
            mu_r, s_r = feature_stats(real)
            mu_f, s_f = feature_stats(fake)
            out['FID'] = frechet_distance(mu_r, s_r, mu_f, s_f)
        if 'IS' in self.metrics:
            if results[0]['logits'] is None:
                raise ValueError('IS needs a feature extractor that returns logits')
            out['IS'], out['IS_std'] = inception_score(
                torch.stack([r['logits'] for r in results]), self.is_splits)
        if 'PRDC' in self.metrics:
            out.update(prdc(real[:self.prdc_num], fake[:self.prdc_num], self.prdc_k))
        return out
