"""Teacher-feature normalizers by name: the one table of VKD's normalizer options.

=============== ============================================================ =========
name            connector config                                             where
=============== ============================================================ =========
``'none'``      no normalizer (``None`` too)                                 both
``'sample'``    ``FeatureStandardizer(mode='sample')``: per sample (layer    VKD
                norm without affine)
``'batch'``     ``FeatureStandardizer(mode='batch')``: per dimension over    both
                the batch (z-score)
``'standardize'`` same as ``'batch'`` (the GAN configs' name)                both
``'whiten'``    ``FeatureWhitener(num_features=d)``: covariance ``I``         both
                (Cholesky, shrinkage, running statistics)
=============== ============================================================ =========

Used by :class:`~mmkd_ext.models.distillers.VKDDistiller` (``feature_pairs[i].
normalizer``) and :class:`~mmkd_ext.models.gans.DiscriminatorKD` (``normalizer``).
"""
import copy

__all__ = ['NORMALIZERS', 'normalizer_cfg']

#: name -> connector config (``num_features`` of the whitener is filled in).
NORMALIZERS = {
    'none': None,
    'sample': dict(type='FeatureStandardizer', mode='sample'),
    'batch': dict(type='FeatureStandardizer', mode='batch'),
    'standardize': dict(type='FeatureStandardizer', mode='batch'),
    'whiten': dict(type='FeatureWhitener'),
}


def normalizer_cfg(normalizer, num_features, key='normalizer'):
    """The connector config of a normalizer name (or a config dict, copied).

    Args:
        normalizer (str | dict | None): a name of :data:`NORMALIZERS`, ``None`` or a
            connector config.
        num_features (int): feature dimension d (for the whitener).
        key (str): config key named in errors.

    Returns:
        dict | None: the config, ``None`` for no normalizer.

    Raises:
        ValueError: unknown name.
    """
    if normalizer is None:
        return None
    if isinstance(normalizer, dict):
        return copy.deepcopy(normalizer)
    if normalizer not in NORMALIZERS:
        raise ValueError(f'`{key}` must be one of {tuple(NORMALIZERS)}, None or a '
                         f'connector config dict, got {normalizer!r}')
    cfg = copy.deepcopy(NORMALIZERS[normalizer])
    if cfg is not None and cfg['type'] == 'FeatureWhitener':
        cfg['num_features'] = num_features
    return cfg
