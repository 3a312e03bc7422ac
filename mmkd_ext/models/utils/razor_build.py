"""Build an MMRazor component (connector, loss, ...) whatever the default scope."""
from mmrazor.registry import MODELS as RAZOR_MODELS

__all__ = ['build_razor_module']


def build_razor_module(cfg):
    """``mmrazor.registry.MODELS.build(cfg)`` with ``_scope_='mmrazor'`` unless the type
    names its scope (``'mmpretrain.X'``) or the config sets ``_scope_``.

    MMEngine resolves an unprefixed type in the registry of the *current default scope*
    (``mmpretrain`` in a classification runner, ``mmkd_ext`` in a GAN runner), where
    MMRazor's and mmkd_ext's connectors and losses are not registered; parts built from
    inside other libraries' modules (an ``NC3Head`` projector, a ``DiscriminatorKD``
    connector, a ``VKDDistiller`` pooling step) go through here.

    Args:
        cfg (dict | nn.Module): a config with ``type``; a module passes through.
    """
    if not isinstance(cfg, dict):
        return cfg
    cfg = dict(cfg)
    if '.' not in str(cfg.get('type', '')):
        cfg.setdefault('_scope_', 'mmrazor')
    return RAZOR_MODELS.build(cfg)
