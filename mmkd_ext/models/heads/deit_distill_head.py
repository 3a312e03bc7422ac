"""A DeiT head that trains the distilled (class + distillation token) variant.

MMPretrain's ``DeiTClsHead`` only evaluates distilled DeiTs (it warns and averages both
heads in training too). Here, following Touvron et al. 2021 (eq. for soft distillation,
temperature 1, and "at test time ... we add the softmax output by the two classifiers"):

* training: ``loss()`` returns the cross-entropy of the class-token head,
  ``L_cls = CE(W_cls z_cls, y)`` (the configured loss: label smoothing, mixup soft
  targets); the distillation-token head ``head_dist`` is evaluated in the same call, so
  an MMRazor recorder on ``head.layers.head_dist`` hands its logits to a distill loss,
  ``L_dist = tau^2 KL(softmax(t / tau) || softmax(W_dist z_dist / tau))`` with the
  teacher's logits ``t`` (MMRazor ``KLDivergence``, tau = 1), inside
  ``SingleTeacherDistill`` / ``StrictTeacherDistill``;
* evaluation: ``forward`` / ``predict`` return ``(W_cls z_cls + W_dist z_dist) / 2``.

Inputs: ``feats[-1] = (cls_token, dist_token)``, each (N, C), as produced with
``out_type='cls_token'`` by MMPretrain's ``DistilledVisionTransformer`` (learned
distillation token) or by
:class:`mmkd_ext.models.backbones.ConvStemDistilledVisionTransformer` (the VKD
reference student: conv stem, distillation token = mean of the patch embeddings).
Outputs: (N, num_classes). As in the VKD reference code, both classifiers are plain
linear layers (``hidden_dim=None``): ``head`` and ``head_dist``.
"""
from typing import List, Tuple

import torch
from mmpretrain.models.heads import DeiTClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample


@MODELS.register_module()
class DeiTDistillClsHead(DeiTClsHead):
    """Trainable distilled-DeiT head (see the module docstring).

    Args: as :class:`mmpretrain.models.heads.DeiTClsHead` (``num_classes``,
    ``in_channels``, ``hidden_dim``, ``loss``, ``init_cfg``).
    """

    def forward_both(self, feats) -> Tuple[torch.Tensor, torch.Tensor]:
        """Return ``(cls_score, dist_score)``, each (N, num_classes)."""
        feat = feats[-1]
        if not isinstance(feat, (tuple, list)) or len(feat) not in (2, 3):
            raise TypeError(
                'DeiTDistillClsHead expects the backbone to return (cls_token, '
                'dist_token) per stage: use DistilledVisionTransformer or '
                "ConvStemDistilledVisionTransformer with out_type='cls_token' "
                f'(got {type(feat).__name__}).')
        cls_token, dist_token = self.pre_logits(feats)
        return self.layers.head(cls_token), self.layers.head_dist(dist_token)

    def forward(self, feats) -> torch.Tensor:
        """Test-time score: the mean of both heads' logits."""
        cls_score, dist_score = self.forward_both(feats)
        return (cls_score + dist_score) / 2

    def loss(self, feats, data_samples: List[DataSample], **kwargs) -> dict:
        """Cross-entropy of the class-token head (the distillation-token head is run
        too, for the recorder that feeds the distillation loss)."""
        cls_score, _ = self.forward_both(feats)
        return self._get_loss(cls_score, data_samples, **kwargs)
