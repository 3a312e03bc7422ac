"""Feature extractors for the GAN metrics: ``forward(x (N, 3, H, W) in [-1, 1])`` ->
``(feat (N, D), logits (N, K) or None)``; frozen, eval mode.

* :class:`InceptionV3FeatureExtractor`: torchvision's InceptionV3 loaded from a local
  state-dict file (2048-d pool features, logits for IS). Nothing is downloaded; a missing
  file raises ``FileNotFoundError`` naming ``feature_extractor.weights``. torchvision-
  format keys (``torchvision.models.inception_v3`` state dicts, or pytorch-fid's
  ``pt_inception-2015-12-05`` file whose 1008-way ``fc`` is detected) load. The blocks
  are torchvision's, so values match torchvision-Inception FIDs, not TF-Inception
  FIDs to the last digit.
* :class:`ClassifierFeatureExtractor`: any MMPretrain ``ImageClassifier`` config +
  checkpoint (digits demo): features = ``extract_feat`` (neck output), logits = head.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd_ext.models.gans.frozen_encoder import FrozenImageEncoder
from mmkd_ext.models.utils.checkpoint import (CheckpointError, load_checkpoint_strict,
                                              load_state_dict_strict, read_checkpoint,
                                              unwrap_state_dict)
from mmkd_ext.registry import MODELS


@MODELS.register_module()
class InceptionV3FeatureExtractor(nn.Module):
    """InceptionV3 pool features from a local weights file (see module docstring).

    Args:
        weights (str): state-dict file (required, never downloaded).
        resize (int): input side (bilinear). Defaults to 299.
    """

    def __init__(self, weights: Optional[str] = None, resize: int = 299):
        super().__init__()
        from torchvision.models import inception_v3
        if not weights:
            raise FileNotFoundError(
                'feature_extractor.weights is not set: the Inception metrics need a '
                'local InceptionV3 state-dict file (e.g. torchvision\'s '
                'inception_v3_google-0cc3c7bd.pth); nothing is downloaded')
        key_hint = 'feature_extractor.weights'
        state = unwrap_state_dict(read_checkpoint(weights, key_hint), key_hint, weights)
        state = {k: v for k, v in state.items() if not k.startswith('AuxLogits.')}
        if 'fc.weight' not in state:
            raise CheckpointError(f'{key_hint}: "{weights}" has no "fc.weight": not an '
                                  'InceptionV3 state dict')
        self.net = inception_v3(weights=None, aux_logits=False, init_weights=False,
                                num_classes=state['fc.weight'].shape[0])
        load_state_dict_strict(self.net, state, key_hint, weights)
        self.resize = resize
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        self.register_buffer('mean', mean, persistent=False)
        self.register_buffer('std', std, persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.no_grad()
    def forward(self, x):
        x = F.interpolate(x, size=(self.resize, self.resize), mode='bilinear',
                          align_corners=False)
        x = ((x + 1) / 2 - self.mean) / self.std
        net = self.net
        for name in ('Conv2d_1a_3x3', 'Conv2d_2a_3x3', 'Conv2d_2b_3x3', 'maxpool1',
                     'Conv2d_3b_1x1', 'Conv2d_4a_3x3', 'maxpool2', 'Mixed_5b',
                     'Mixed_5c', 'Mixed_5d', 'Mixed_6a', 'Mixed_6b', 'Mixed_6c',
                     'Mixed_6d', 'Mixed_6e', 'Mixed_7a', 'Mixed_7b', 'Mixed_7c'):
            x = getattr(net, name)(x)
        feat = net.avgpool(x).flatten(1)
        return feat.float(), net.fc(feat).float()


@MODELS.register_module()
class ClassifierFeatureExtractor(FrozenImageEncoder):
    """Features and logits of an MMPretrain ``ImageClassifier`` (e.g. digits ResNet).

    Args:
        model (dict): ``mmpretrain.ImageClassifier`` config.
        checkpoint (str, optional): its checkpoint (MMEngine ``state_dict`` or raw).
        Other args as :class:`FrozenImageEncoder` (mean / std in 0..255 units).
    """

    def __init__(self, model: dict, checkpoint: Optional[str] = None, **kwargs):
        kwargs.setdefault('key_hint', 'feature_extractor')
        super().__init__(backbone=model, checkpoint=None, **kwargs)
        if checkpoint is not None:
            load_checkpoint_strict(self.backbone, checkpoint,
                                   'feature_extractor.checkpoint')
        if not hasattr(self.backbone, 'extract_feat') or not hasattr(
                self.backbone, 'head'):
            raise TypeError('feature_extractor.model must be an ImageClassifier '
                            '(with extract_feat and head)')

    @torch.no_grad()
    def forward(self, x):
        if self.input_size is not None and x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size),
                              mode=self.resize_mode)
        x = ((x + 1.0) * 127.5 - self.mean) / self.std
        feats = self.backbone.extract_feat(x)
        logits = self.backbone.head(feats)
        return self._pool(feats).float(), logits.float()
