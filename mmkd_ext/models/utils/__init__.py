from .checkpoint import (DEFAULT_ALLOWED_MISSING, CheckpointError, load_checkpoint_strict,
                         load_state_dict_strict, read_checkpoint, revise_keys,
                         select_prefix, unwrap_state_dict)
from .orthogonal import (cholesky_qr_inv, gram_factor, identity_orthonormal, inv_sqrt_spd,
                         newton_schulz_inv_sqrt, orthogonality_error, polar_factor,
                         polar_linear, random_orthonormal, stiefel_exp)
from .whitening import batch_covariance, whitening_matrix

__all__ = [
    'cholesky_qr_inv', 'gram_factor', 'identity_orthonormal', 'inv_sqrt_spd',
    'newton_schulz_inv_sqrt', 'orthogonality_error', 'polar_factor', 'polar_linear',
    'random_orthonormal', 'stiefel_exp', 'batch_covariance', 'whitening_matrix',
    'CheckpointError', 'read_checkpoint', 'unwrap_state_dict', 'revise_keys',
    'select_prefix', 'load_state_dict_strict', 'load_checkpoint_strict',
    'DEFAULT_ALLOWED_MISSING'
]
from .neural_collapse import class_means  # noqa: F401
from .neural_collapse import (centered_normalized, nc1_align_loss, nc2_structure_loss,
                              nc_metrics, per_sample_class_means, simplex_etf)
from .prototype_bank import PrototypeBank, build_prototype_bank  # noqa: F401
