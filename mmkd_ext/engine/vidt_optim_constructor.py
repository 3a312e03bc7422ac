"""The weight-decay rule of the ViDT reference training code.

naver-ai/vidt (branch main, 5207d04) ``main.py`` ``build_optimizer`` puts every
trainable parameter whose name contains ``backbone`` and that is 1-d (norm weights and
biases), a ``.bias`` or named in the backbone's ``no_weight_decay()``
(``det_token``, ``det_pos_embed``; ``methods/swin_w_ram.py``) into a group without
weight decay; everything else is decayed: the backbone's relative-position tables (2-d)
and the whole head (input projections, decoder, prediction heads), norms and biases
included. MMEngine's ``paramwise_cfg`` options cannot say "1-d, but only in the
backbone" (``norm_decay_mult`` / ``bias_decay_mult`` / ``flat_decay_mult`` act on the
whole model, and a ``custom_keys`` match switches them off), so this constructor applies
the rule itself, one group per parameter as MMEngine's constructor does. Under a
distillation algorithm (``architecture.backbone...``) the substring rule is the same;
frozen teacher parameters are skipped. docs/detection.md ("Configs").

Config::

    optim_wrapper = dict(
        optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-4),
        constructor='ViDTOptimWrapperConstructor',
        paramwise_cfg=dict(no_decay_names=('det_token', 'det_pos_embed')))
"""
from mmengine.optim import DefaultOptimWrapperConstructor
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS


def reference_no_decay(name,
                       param,
                       backbone_key='backbone',
                       no_decay_names=('det_token', 'det_pos_embed')):
    """Whether the ViDT reference trains parameter ``name`` without weight decay."""
    return backbone_key in name and (param.dim() == 1 or name.endswith('.bias')
                                     or name.split('.')[-1] in no_decay_names)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class ViDTOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """MMEngine's constructor with the ViDT reference's weight-decay groups.

    ``paramwise_cfg`` keys: ``backbone_key`` (default ``'backbone'``) and
    ``no_decay_names`` (default ``('det_token', 'det_pos_embed')``); no other keys.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        cfg = dict(paramwise_cfg or {})
        self.backbone_key = cfg.pop('backbone_key', 'backbone')
        self.no_decay_names = tuple(
            cfg.pop('no_decay_names', ('det_token', 'det_pos_embed')))
        if cfg:
            raise ValueError(
                f'optim_wrapper.paramwise_cfg: {sorted(cfg)} not supported by '
                'ViDTOptimWrapperConstructor (keys: backbone_key, '
                'no_decay_names)')
        # non-empty, so that MMEngine's __call__ goes through add_params
        super().__init__(optim_wrapper_cfg, dict(rule='vidt-reference'))

    def _validate_cfg(self):
        pass

    def add_params(self, params, module, prefix='', is_dcn_module=None):
        for name, param in module.named_parameters(prefix=prefix):
            if not param.requires_grad:
                continue
            group = dict(params=[param])
            if reference_no_decay(name, param, self.backbone_key, self.no_decay_names):
                group['weight_decay'] = 0.0
            params.append(group)
