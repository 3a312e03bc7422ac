"""ViDT's token-matching distillation loss (Song et al., ICLR 2022, sec. 3.3, Eq. 3).

Student and teacher ViDT expose the same 256-d tokens, so they are matched directly:

    L_tm = sqrt( sum_l d(P_s^l, P_t^l) + d(D_s, D_t) + L * d(H_s, H_t) )

with d(a, b) = mean over tokens of the squared L2 distance ||a_i - b_i||^2 (sum over
channels), P^l the 4 patch levels after the 256-d input projection (N, 256, h_l, w_l),
D the backbone [DET] tokens after their projection (N, Q, 256), H the decoder hidden
states (L, N, Q, 256) (d averages over all L*N*Q tokens, times L as in Eq. 3). The
teacher side is detached. Returns ``loss_weight * L_tm`` (a scalar).
"""
import torch.nn as nn

from mmrazor.registry import MODELS


def mean_token_sq_dist(student, teacher, channel_dim=-1):
    """Mean over tokens of the squared L2 distance; channels at ``channel_dim``."""
    if student.shape != teacher.shape:
        raise ValueError(f'token matching: student {tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)} features differ in shape')
    return (student - teacher.detach()).pow(2).sum(channel_dim).mean()


def token_matching_loss(patch_s, patch_t, det_s, det_t, dec_s, dec_t):
    """Eq. 3 above. patch_*: sequences of (N, C, h, w); det_*: (N, Q, C);
    dec_*: (L, N, Q, C). Returns a scalar tensor."""
    if len(patch_s) != len(patch_t):
        raise ValueError(f'token matching: {len(patch_s)} student vs {len(patch_t)} '
                         'teacher patch levels')
    total = sum(mean_token_sq_dist(s, t, channel_dim=1)
                for s, t in zip(patch_s, patch_t))
    total = total + mean_token_sq_dist(det_s, det_t)
    total = total + dec_s.shape[0] * mean_token_sq_dist(dec_s, dec_t)
    return total.clamp_min(1e-12).sqrt()


@MODELS.register_module()
class TokenMatchingLoss(nn.Module):
    """ViDT token matching (see the module docstring); weight 4.0 in ViDT.

    ``forward(patch_s, patch_t, det_s, det_t, dec_s, dec_t)``.
    """

    def __init__(self, loss_weight=4.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, patch_s, patch_t, det_s, det_t, dec_s, dec_t):
        return self.loss_weight * token_matching_loss(
            patch_s, patch_t, det_s, det_t, dec_s, dec_t)
