"""Feature extractors for the GAN metrics: ``forward(x)`` -> ``(feat (N, D), logits
(N, K) or None)``; frozen, eval mode. ``x`` (N, 3, H, W) is either ``uint8`` pixels
(0..255, e.g. dataset images) or floats in [-1, 1] (generator output).

* :class:`InceptionV3FeatureExtractor`: **the FID Inception** -- the TensorFlow
  Inception graph of 2015-12-05 that FID (Heusel et al.) and IS (Salimans et al.) were
  defined with, as ported by torch-fidelity (its ``FeatureExtractorInceptionV3``:
  TF1-style bilinear resize to 299, ``(x - 128) / 128`` scaling, FID-specific pooling
  in the Mixed blocks, 1008-way classifier). The network and its preprocessing are
  torch-fidelity's own module, so features equal ``torch_fidelity.calculate_metrics``'
  bit for bit; only the weights file is read by us (``weights_only=True``). Float
  inputs are quantised to ``uint8`` first exactly as ``torchvision.utils.save_image``
  writes a PNG (``floor(255 (x + 1) / 2 + 0.5)``), so an FID of generator outputs
  equals the FID of their saved PNG files.
* :class:`ClassifierFeatureExtractor`: any MMPretrain ``ImageClassifier`` config +
  checkpoint (digits demo): features = ``extract_feat`` (neck output), logits = head.
"""
import io
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd_ext.models.gans.frozen_encoder import FrozenImageEncoder
from mmkd_ext.models.utils.checkpoint import (CheckpointError, load_checkpoint_strict,
                                              read_checkpoint, unwrap_state_dict)
from mmkd_ext.registry import MODELS

#: torch-fidelity's file of the TF 2015-12-05 Inception weights (sha256 prefix in the
#: name); ``weights=None`` downloads it from torch-fidelity's ``URL_INCEPTION_V3``.
FID_INCEPTION_FILE = 'weights-inception-2015-12-05-6726825d.pth'


def images_to_uint8(x: torch.Tensor) -> torch.Tensor:
    """``uint8`` images unchanged; floats in [-1, 1] -> ``uint8`` rounded as
    ``torchvision.utils.save_image`` does: ``floor(255 (x + 1) / 2 + 0.5)``, clamped."""
    if x.dtype == torch.uint8:
        return x
    if not x.is_floating_point():
        raise TypeError(f'feature extractor: images must be uint8 (0..255) or float '
                        f'in [-1, 1], got dtype {x.dtype}')
    y = (x.float() + 1.0) / 2.0
    return y.mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)


def images_to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """``uint8`` images -> floats in [-1, 1]; float images unchanged."""
    if x.dtype == torch.uint8:
        return x.float() / 127.5 - 1.0
    return x


def _check_fid_layout(state, key_hint, filename):
    """Clear errors for the usual wrong files before torch-fidelity loads them."""
    fc = state.get('fc.weight')
    if any(k.startswith('AuxLogits.')
           for k in state) or (fc is not None and tuple(fc.shape) == (1000, 2048)):
        raise CheckpointError(
            f'{key_hint}: "{filename}" is torchvision\'s ImageNet InceptionV3 (1000 '
            'classes / AuxLogits), not the FID Inception. FID and IS are defined '
            'with the TF 2015-12-05 Inception: use torch-fidelity\'s '
            f'{FID_INCEPTION_FILE} (docs/gan.md).')
    if fc is None or tuple(fc.shape) != (1008, 2048):
        raise CheckpointError(
            f'{key_hint}: "{filename}" has no 1008 x 2048 "fc.weight": not the FID '
            f'Inception state dict ({FID_INCEPTION_FILE}).')


@MODELS.register_module()
class InceptionV3FeatureExtractor(nn.Module):
    """The FID Inception (torch-fidelity's ``inception-v3-compat``), see the module
    docstring.

    ``forward(x (N, 3, H, W) uint8 or float in [-1, 1])`` ->
    ``(pool3 (N, 2048) float32, logits_unbiased (N, 1008) float32)``; the unbiased
    logits (``pool3 @ W^T``, no bias) are the ones IS is defined with.

    Args:
        weights (str, optional): local path of torch-fidelity's
            ``weights-inception-2015-12-05-6726825d.pth`` (a state dict of its
            ``FeatureExtractorInceptionV3``; read with ``weights_only=True``). None:
            torch-fidelity's usual download into the torch hub cache (needs internet).
        internal_dtype (str): ``'float32'`` (torch-fidelity's default) or
            ``'float64'``.
    """

    def __init__(self, weights: Optional[str] = None, internal_dtype: str = 'float32'):
        super().__init__()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import (
                URL_INCEPTION_V3, FeatureExtractorInceptionV3)
        except ImportError as err:
            raise ImportError('InceptionV3FeatureExtractor needs torch-fidelity '
                              '(pip install -r requirements/runtime.txt)') from err
        key_hint = 'feature_extractor.weights'
        if weights:
            state = unwrap_state_dict(
                read_checkpoint(weights, key_hint), key_hint, weights)
        else:
            url = URL_INCEPTION_V3
            try:
                state = torch.hub.load_state_dict_from_url(
                    url, progress=False, map_location='cpu', weights_only=True)
            except Exception as err:  # no internet, proxy, corrupt download ...
                raise CheckpointError(
                    f'{key_hint} is not set and downloading the FID Inception '
                    f'weights from {url} failed ({type(err).__name__}: {err}). '
                    f'Download {FID_INCEPTION_FILE} where you have internet and set '
                    f'{key_hint} to its local path.') from None
            weights = url
        state = dict(state)
        _check_fid_layout(state, key_hint, weights)
        for k in [k for k in state if k.endswith('.bn.running_mean')]:
            state.setdefault(
                k.replace('running_mean', 'num_batches_tracked'), torch.tensor(0))
        # torch-fidelity unpickles its file with weights_only=False; hand it our
        # already safely read tensors re-serialised in memory instead of the path.
        buf = io.BytesIO()
        torch.save(state, buf)
        buf.seek(0)
        try:
            self.net = FeatureExtractorInceptionV3(
                'inception-v3-compat', ['2048', 'logits_unbiased'],
                feature_extractor_weights_path=buf,
                feature_extractor_internal_dtype=internal_dtype)
        except RuntimeError as err:  # load_state_dict: missing / unexpected / shapes
            msg = str(err)
            raise CheckpointError(
                f'{key_hint}: "{weights}" does not fit the FID Inception '
                f'({FID_INCEPTION_FILE}): {msg[:600]}') from None
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True):
        return super().train(False)

    @torch.no_grad()
    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'InceptionV3FeatureExtractor: expected (N, 3, H, W) '
                             f'images, got {tuple(x.shape)}')
        feat, logits = self.net(images_to_uint8(x))
        return feat.float(), logits.float()


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
        x = images_to_unit_range(x)
        if self.input_size is not None and x.shape[-1] != self.input_size:
            x = F.interpolate(
                x, size=(self.input_size, self.input_size), mode=self.resize_mode)
        x = ((x + 1.0) * 127.5 - self.mean) / self.std
        feats = self.backbone.extract_feat(x)
        logits = self.backbone.head(feats)
        return self._pool(feats).float(), logits.float()
