"""Neural-collapse metrics in the validation loop (design note, "NC metrics")."""
from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmpretrain.registry import METRICS

from mmkd_ext.models.utils.neural_collapse import nc_metrics

#: Data-sample fields written by :class:`mmkd_ext.engine.NCFeatureHook` and read here.
NC_FEAT_KEY = 'nc_feat'
NC_WEIGHT_KEY = 'nc_weight'


@METRICS.register_module()
class NeuralCollapseMetric(BaseMetric):
    """NC1, NC2 (equinorm, equiangularity, max-angle, ETF error) and NC3 (self-duality,
    mean cosine) of the validated model's penultimate features over the whole split.

    The features and classifier weights reach the metric through the data samples:
    :class:`mmkd_ext.engine.NCFeatureHook` (add it to ``custom_hooks``) stores the input
    of the classifier layer (``head.fc``) of each sample as ``nc_feat`` and the layer's
    weight as ``nc_weight``, for a plain MMPretrain classifier and for the student and
    teacher of an MMRazor distillation algorithm. Use next to ``Accuracy``::

        val_evaluator = [dict(type='mmpretrain.Accuracy', topk=(1, )),
                         dict(type='mmpretrain.NeuralCollapseMetric')]

    Results are logged as ``nc/nc1``, ``nc/nc2_etf_error``, ... (``teacher.nc/...``
    in MMRazor's distillation val loop). Formulas: :func:`nc_metrics`.

    Args:
        num_classes (int, optional): C; defaults to the classifier weight's rows.
        collect_device (str): as in :class:`BaseMetric`.
        prefix (str, optional): defaults to ``'nc'``.
    """
    default_prefix: Optional[str] = 'nc'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes
        self._weight = None

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if NC_FEAT_KEY not in sample:
                raise KeyError(
                    f"NeuralCollapseMetric: the data sample has no '{NC_FEAT_KEY}'; add "
                    "custom_hooks=[dict(type='mmkd_ext.NCFeatureHook')] to the config")
            label = sample['gt_label']
            self.results.append(
                dict(
                    feat=sample[NC_FEAT_KEY].detach().float().cpu(),
                    label=int(label.reshape(-1)[0])
                    if isinstance(label, torch.Tensor) else int(label)))
        if data_samples and data_samples[0].get(NC_WEIGHT_KEY) is not None:
            self._weight = data_samples[0][NC_WEIGHT_KEY].detach().float().cpu()

    def compute_metrics(self, results: List[dict]) -> dict:
        feats = torch.stack([r['feat'] for r in results])
        labels = torch.tensor([r['label'] for r in results])
        weight, self._weight = self._weight, None
        return nc_metrics(feats, labels, weight, self.num_classes)
