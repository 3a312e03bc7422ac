"""ViDT detector: Swin + RAM backbone, encoder-free deformable decoder neck, 7 heads.

ViDT (Song et al., ICLR 2022, sec. 3.2): the backbone's final [DET] tokens are the
decoder's initial queries, its 4 patch levels (strides 8..64, projected to 256-d by the
``neck``, an MMDet ``ChannelMapper`` with GroupNorm) are the deformable memory. There is
no encoder. Prediction layers: the projected backbone [DET] tokens predict too (layer 0),
then each of the 6 decoder layers; with iterative box refinement each layer refines the
previous (detached) boxes:

    box_0 = sigmoid(reg_0(q_0) + [logit(ref_init), 0, 0]),   ref_init = sigmoid(W p)
    box_l = sigmoid(reg_l(q_l) + logit(box_{l-1}))            l = 1..6

where q_0 = tgt_proj([DET]) (N, 100, 256), p = query_pos_proj(det_pos_embed), q_l the
decoder states. The head (MMDet ``DeformableDETRHead`` with ``num_pred_layer=7``) gets
hidden_states (7, N, 100, 256) and references [ref_init, box_0, ..., box_6].

This is the reference network (naver-ai/vidt ``methods/vidt/detector.py`` and
``deformable_transformer.py``, method ``vidt``, aux_loss + with_box_refine): given the
reference's weights through :mod:`.vidt_weights` it reproduces every intermediate
tensor of the reference
(tests/test_models/test_detectors/test_vidt_reference_parity.py). Weights load
with ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` (reference or our layout,
strictly; :func:`.vidt_weights.load_vidt_checkpoint`).
"""
import copy
import warnings
from typing import Dict, Tuple

import torch
import torch.nn as nn
from mmcv.cnn.bricks.transformer import MultiScaleDeformableAttention
from mmdet.models.detectors.base_detr import DetectionTransformer
from mmdet.models.detectors.deformable_detr import DeformableDETR
from mmdet.models.layers import DeformableDetrTransformerDecoder, inverse_sigmoid
from mmdet.registry import MODELS
from mmengine.model import xavier_init
from torch import Tensor

from .vidt_weights import load_vidt_checkpoint


class DetTokenProjection(nn.Module):
    """Token-wise Linear(in -> out) + GroupNorm(32) over channels:
    (N, L, in) -> (N, L, out).

    Equals ViDT's 1x1 conv + GN applied to tokens laid out as an (L, 1) map.
    """

    def __init__(self, in_channels, out_channels, num_groups=32):
        super().__init__()
        self.linear = nn.Linear(in_channels, out_channels)
        self.norm = nn.GroupNorm(num_groups, out_channels)

    def forward(self, x):
        return self.norm(self.linear(x).transpose(1, 2)).transpose(1, 2)


def padding_mask_from_samples(batch_inputs, batch_data_samples):
    """(N, H, W) bool, True at padded pixels; None when no image is padded."""
    n, _, h, w = batch_inputs.shape
    shapes = [s.img_shape[:2] for s in batch_data_samples]
    if all(sh[0] >= h and sh[1] >= w for sh in shapes):
        return None
    mask = batch_inputs.new_ones((n, h, w), dtype=torch.bool)
    for i, (ih, iw) in enumerate(shapes):
        mask[i, :ih, :iw] = False
    return mask


def det_token_count(backbone, num_queries):
    """The one [DET] token count: ``model.num_queries`` and
    ``model.backbone.num_det_tokens`` give the same number; either may be omitted
    (both omitted: 100, ViDT's). Returns (backbone config, count)."""
    given = backbone.get('num_det_tokens')
    if num_queries is None:
        num_queries = 100 if given is None else given
    if given is not None and given != num_queries:
        raise ValueError(
            f'model.num_queries ({num_queries}) must equal '
            f'model.backbone.num_det_tokens ({given}): the decoder queries are the '
            'backbone [DET] tokens; set one of them (the other follows)')
    return dict(backbone, num_det_tokens=num_queries), num_queries


def neck_in_channels(backbone, neck):
    """The widths of the backbone levels, i.e. the neck's ``in_channels``.

    Read from the backbone's ``out_channels`` (built on the meta device: no memory,
    no random numbers). An explicit ``model.neck.in_channels`` is checked against it.
    """
    with warnings.catch_warnings(), torch.device('meta'):
        warnings.simplefilter('ignore')  # e.g. the deprecated ``pretrained`` alias
        probe = MODELS.build(copy.deepcopy(backbone))
    widths = getattr(probe, 'out_channels', None)
    given = neck.get('in_channels')
    if widths is None:
        if given is None:
            raise ValueError(f'model.neck.in_channels is required: the backbone '
                             f'{type(probe).__name__} has no `out_channels` to infer '
                             'it from')
        return list(given)
    widths = list(widths)
    if given is not None and list(given) != widths:
        arch = getattr(probe, 'arch', None)
        arch = f", model.backbone.arch='{arch}'" if arch else ''
        raise ValueError(
            f'model.neck.in_channels: {list(given)} does not match the widths of the '
            f'backbone levels {widths} ({type(probe).__name__}{arch}); omit '
            f'model.neck.in_channels (it is inferred from the backbone) or set it to '
            f'{widths}')
    return widths


def check_levels(neck, decoder, num_feature_levels):
    """``model.num_feature_levels`` = neck outputs = deformable attention levels, and
    the neck's width is the decoder's."""
    layer = decoder.get('layer_cfg', {})
    dims = layer.get('self_attn_cfg', {}).get('embed_dims', 256)
    if neck.get('out_channels') != dims:
        raise ValueError(
            f"model.neck.out_channels ({neck.get('out_channels')}) must equal the "
            f'decoder width model.decoder.layer_cfg.self_attn_cfg.embed_dims ({dims})')
    outs = neck.get('num_outs', len(neck['in_channels']))
    attn = layer.get('cross_attn_cfg', {}).get('num_levels', 4)
    if not outs == attn == num_feature_levels == len(neck['in_channels']):
        raise ValueError(
            f'model.num_feature_levels ({num_feature_levels}), model.neck.num_outs '
            f'({outs}), model.decoder.layer_cfg.cross_attn_cfg.num_levels ({attn}) and '
            f'the backbone levels ({len(neck["in_channels"])}) must be equal')


@MODELS.register_module()
class ViDT(DetectionTransformer):
    """ViDT (see the module docstring). ``encoder`` and ``positional_encoding`` unused.

    Args:
        backbone: a ``ViDTSwinTransformer`` config (returns 4 maps + [DET] tokens).
        neck: ``ChannelMapper`` config, 4 inputs -> 256-d. ``in_channels`` may be
            omitted: it is inferred from the backbone's ``out_channels`` (an explicit
            value is checked against them, ``model.neck.in_channels`` in errors).
        decoder: ``DeformableDetrTransformerDecoder`` config.
        bbox_head: ``DeformableDETRHead`` config (the detector sets num_pred_layer =
            decoder layers + 1 and share_pred_layer = False).
        num_queries (int, optional): number of [DET] tokens = decoder queries; the
            backbone's ``num_det_tokens`` follows it (set either; both: equal).
            Default: the backbone's, else 100.
        num_feature_levels (int): 4 (neck outputs, deformable attention levels).
        init_cfg: ``dict(type='Pretrained', checkpoint=PATH[, prefix=...])`` loads a
            ViDT reference checkpoint (converted) or one of ours, strictly, after the
            random init (other init_cfg types work as in MMEngine).

    Every inconsistency between these parts is a ``ValueError`` at build time naming
    the config keys (``model.neck.in_channels``, ``model.num_queries``, ...).
    """

    def __init__(self,
                 backbone,
                 neck=None,
                 decoder=None,
                 bbox_head=None,
                 num_queries=None,
                 num_feature_levels=4,
                 **kwargs):
        if decoder is None or bbox_head is None:
            raise ValueError('model.decoder and model.bbox_head are required for ViDT')
        if neck is None:
            raise ValueError('model.neck is required for ViDT: a ChannelMapper from the '
                             '4 backbone levels to the decoder width (see '
                             'configs/_base_/models/vidt_swin-nano.py)')
        for key in ('share_pred_layer', 'num_pred_layer', 'as_two_stage'):
            if key in bbox_head:
                raise KeyError(f'model.bbox_head.{key} is set by ViDT itself; '
                               'remove it from the config')
        backbone, num_queries = det_token_count(backbone, num_queries)
        neck = dict(neck, in_channels=neck_in_channels(backbone, neck))
        check_levels(neck, decoder, num_feature_levels)
        self.num_feature_levels = num_feature_levels
        bbox_head = dict(
            bbox_head,
            share_pred_layer=False,
            num_pred_layer=decoder['num_layers'] + 1,
            as_two_stage=False)
        super().__init__(
            backbone=backbone,
            neck=neck,
            decoder=decoder,
            bbox_head=bbox_head,
            num_queries=num_queries,
            **kwargs)

    def _init_layers(self) -> None:
        self.decoder = DeformableDetrTransformerDecoder(**self.decoder)
        self.embed_dims = self.decoder.embed_dims
        det_dims = self.backbone.num_features[-1]
        pos_dims = self.backbone.det_pos_embed.shape[-1]
        self.tgt_proj = DetTokenProjection(det_dims, self.embed_dims)
        self.query_pos_proj = DetTokenProjection(pos_dims, self.embed_dims)
        self.reference_points_fc = nn.Linear(self.embed_dims, 2)

    def init_weights(self) -> None:
        cfgs = self.init_cfg
        cfgs = [] if cfgs is None else list(cfgs) if isinstance(cfgs, list) else [cfgs]
        pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
        if len(pretrained) > 1 or any('checkpoint' not in c for c in pretrained):
            raise ValueError('model.init_cfg: at most one dict(type="Pretrained", '
                             f'checkpoint=PATH) is supported, got {pretrained}')
        # MMEngine would load a Pretrained init_cfg non-strictly: keep it for below
        self.init_cfg = [c for c in cfgs if c not in pretrained] or None
        try:
            super().init_weights()
        finally:
            self.init_cfg = cfgs[0] if len(cfgs) == 1 else (cfgs or None)
        for p in self.decoder.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        for m in self.modules():
            if isinstance(m, MultiScaleDeformableAttention):
                m.init_weights()
        xavier_init(self.reference_points_fc, distribution='uniform', bias=0.)
        if pretrained:
            load_vidt_checkpoint(
                self,
                pretrained[0]['checkpoint'],
                key_hint='model.init_cfg.checkpoint',
                prefix=pretrained[0].get('prefix'))

    # --- feature extraction -------------------------------------------------------
    def extract_feat(self, batch_inputs: Tensor, batch_data_samples=None):
        """Returns (4 neck maps (N, 256, h, w), [DET] queries (N, 100, 256), mask)."""
        mask = None
        if batch_data_samples is not None:
            mask = padding_mask_from_samples(batch_inputs, batch_data_samples)
        outs = self.backbone(batch_inputs, mask)
        feats = self.neck(outs[:-1])
        if len(feats) != self.num_feature_levels:
            raise ValueError(f'neck gives {len(feats)} levels, model.'
                             f'num_feature_levels is {self.num_feature_levels}')
        return feats, self.tgt_proj(outs[-1]), mask

    def loss(self, batch_inputs, batch_data_samples):
        feats = self.extract_feat(batch_inputs, batch_data_samples)
        head_inputs = self.forward_transformer(feats, batch_data_samples)
        return self.bbox_head.loss(**head_inputs, batch_data_samples=batch_data_samples)

    def predict(self, batch_inputs, batch_data_samples, rescale: bool = True):
        feats = self.extract_feat(batch_inputs, batch_data_samples)
        head_inputs = self.forward_transformer(feats, batch_data_samples)
        results = self.bbox_head.predict(
            **head_inputs, rescale=rescale, batch_data_samples=batch_data_samples)
        return self.add_pred_to_datasample(batch_data_samples, results)

    def _forward(self, batch_inputs, batch_data_samples=None):
        feats = self.extract_feat(batch_inputs, batch_data_samples)
        head_inputs = self.forward_transformer(feats, batch_data_samples)
        # through __call__ (not ``.forward``), as ``bbox_head.loss`` / ``predict`` do,
        # so that a recorder on the head's inputs (VKD's decoder states) sees every
        # mode, the distillers' build-time dry run (``mode='tensor'``) included
        return self.bbox_head(head_inputs['hidden_states'], head_inputs['references'])

    # --- transformer template hooks ------------------------------------------------
    def forward_transformer(self, img_feats, batch_data_samples=None) -> Dict:
        feats, det_query, mask = img_feats
        _, dec_inputs = self.pre_transformer((feats, mask), batch_data_samples)
        memory_dict = self.forward_encoder(
            feat=dec_inputs.pop('memory'), feat_mask=None, feat_pos=None)
        tmp_dec_in, head_inputs = self.pre_decoder(memory_dict['memory'], det_query)
        dec_inputs.update(tmp_dec_in)
        dec_outputs = self.forward_decoder(**dec_inputs)
        head_inputs.update(dec_outputs)
        return head_inputs

    def pre_transformer(self, img_feats, batch_data_samples=None) -> Tuple[Dict, Dict]:
        """Flatten the levels; per-level masks, valid ratios, spatial shapes."""
        feats, mask = img_feats
        n = feats[0].shape[0]
        memory, masks, shapes, ratios = [], [], [], []
        for feat in feats:
            memory.append(feat.flatten(2).transpose(1, 2))
            shapes.append(feat.shape[-2:])
            if mask is not None:
                lvl = nn.functional.interpolate(
                    mask[None].float(), size=feat.shape[-2:]).to(torch.bool)[0]
                masks.append(lvl.flatten(1))
                ratios.append(DeformableDETR.get_valid_ratio(lvl))
        spatial_shapes = torch.as_tensor(shapes, dtype=torch.long, device=feats[0].device)
        level_start_index = torch.cat((spatial_shapes.new_zeros(
            (1, )), spatial_shapes.prod(1).cumsum(0)[:-1]))
        valid_ratios = (
            torch.stack(ratios, 1) if mask is not None else feats[0].new_ones(
                n, len(feats), 2))
        dec_inputs = dict(
            memory=torch.cat(memory, 1),
            memory_mask=torch.cat(masks, 1) if mask is not None else None,
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=valid_ratios)
        return dict(), dec_inputs

    def forward_encoder(self, feat, feat_mask, feat_pos, **kwargs) -> Dict:
        """ViDT has no encoder: the memory is the projected backbone levels."""
        return dict(memory=feat)

    def pre_decoder(self, memory: Tensor, det_query: Tensor) -> Tuple[Dict, Dict]:
        """Queries = projected [DET] tokens; layer-0 boxes from them (see docstring)."""
        n = det_query.shape[0]
        query_pos = self.query_pos_proj(self.backbone.det_pos_embed).expand(n, -1, -1)
        ref_init = self.reference_points_fc(query_pos).sigmoid()
        box0 = self.bbox_head.reg_branches[0](det_query)
        box0 = torch.cat([box0[..., :2] + inverse_sigmoid(ref_init), box0[..., 2:]],
                         -1).sigmoid().detach()
        dec_in = dict(
            query=det_query,
            query_pos=query_pos,
            memory=memory,
            reference_points=box0,
            ref_init=ref_init)
        head_inputs = dict(enc_outputs_class=None, enc_outputs_coord=None) \
            if self.training else dict()
        return dec_in, head_inputs

    def forward_decoder(self, query, query_pos, memory, memory_mask, reference_points,
                        spatial_shapes, level_start_index, valid_ratios,
                        ref_init) -> Dict:
        states, refs = self.decoder(
            query=query,
            value=memory,
            query_pos=query_pos,
            key_padding_mask=memory_mask,
            reference_points=reference_points,
            spatial_shapes=spatial_shapes,
            level_start_index=level_start_index,
            valid_ratios=valid_ratios,
            reg_branches=self.bbox_head.reg_branches[1:])
        hidden_states = torch.cat([query[None], states], 0)
        references = [ref_init, reference_points, *refs]
        return dict(hidden_states=hidden_states, references=references)
