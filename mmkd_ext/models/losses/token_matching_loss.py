"""ViDT's token-matching distillation loss, as the ViDT reference code defines it.

Reference: naver-ai/vidt (branch main) ``methods/vidt/criterion.py``,
``SetCriterion.forward(..., distil_tokens)`` (weight ``--distil_loss_coef`` 4.0); paper:
Song et al., ICLR 2022, sec. 3.3. Student and teacher ViDT expose the same 256-d
tokens, so they are matched directly:

    L_tm = sqrt( sum_l d(P_s^l, P_t^l) + d(D_s, D_t) + (L + 1) * d(H_s, H_t) )

with d(a, b) = mean over tokens of the (not squared) L2 distance ||a_i - b_i||_2, P^l
the 4 patch levels after the 256-d input projection (N, 256, h_l, w_l; padded
positions included), D the backbone [DET] tokens after ``tgt_proj`` (N, Q, 256) and
H = [D; decoder states] (L + 1, N, Q, 256): the reference's ``hs`` holds the decoder
input (= D) followed by the L decoder layer outputs, d averages over all its
(L + 1) * N * Q tokens and is multiplied by their number of layers. So D enters twice
(once alone, once as ``hs[0]``). The teacher side is detached. Returns
``loss_weight * L_tm`` (a scalar).

``decoder_term=False`` (not in the reference; the detection pilot of docs/studies.md,
section "Detection") drops the decoder term:

    L_tm' = sqrt( sum_l d(P_s^l, P_t^l) + d(D_s, D_t) )

so the decoder layers get no gradient from distillation and the [DET] tokens enter
once (through d(D_s, D_t)); ``dec_s`` / ``dec_t`` are still checked but not used.

Two numerical guards, equal in value to the reference wherever its gradient exists:
the per-token norm is ``torch.linalg.vector_norm`` (sub-gradient 0 at a zero
difference, where ``sqrt(sum(x**2))`` gives NaN), and the outer square root is taken
of ``max(total, 1e-12)``.
"""
import torch
import torch.nn as nn
from mmrazor.registry import MODELS


def mean_token_dist(student, teacher, channel_dim=-1):
    """Mean over tokens of the L2 distance ||s_i - t_i||_2; channels at ``channel_dim``.

    The teacher is detached.
    """
    if student.shape != teacher.shape:
        raise ValueError(f'token matching: student {tuple(student.shape)} and teacher '
                         f'{tuple(teacher.shape)} features differ in shape')
    return torch.linalg.vector_norm(student - teacher.detach(), dim=channel_dim).mean()


def token_matching_loss(patch_s, patch_t, det_s, det_t, dec_s, dec_t, decoder_term=True):
    """L_tm of the module docstring (without the weight); ``decoder_term=False``:
    L_tm' (without the (L + 1) * d(H_s, H_t) term).

    Args:
        patch_s, patch_t: sequences of (N, C, h, w) projected patch levels.
        det_s, det_t: (N, Q, C) projected backbone [DET] tokens (the decoder input).
        dec_s, dec_t: (L, N, Q, C) decoder layer outputs (without the decoder input;
            the reference's ``hs`` is ``[det; dec]``).
    Returns:
        scalar tensor.
    """
    if len(patch_s) != len(patch_t):
        raise ValueError(f'token matching: {len(patch_s)} student vs {len(patch_t)} '
                         'teacher patch levels')
    for name, det, dec in (('student', det_s, dec_s), ('teacher', det_t, dec_t)):
        if dec.dim() != 4 or det.dim() != 3 or dec.shape[1:] != det.shape:
            raise ValueError(f'token matching: {name} decoder states {tuple(dec.shape)} '
                             f'must be (L, N, Q, C) with (N, Q, C) = [DET] tokens '
                             f'{tuple(det.shape)}')
    total = sum(mean_token_dist(s, t, channel_dim=1) for s, t in zip(patch_s, patch_t))
    total = total + mean_token_dist(det_s, det_t)
    if not decoder_term:
        return total.clamp_min(1e-12).sqrt()
    hs_s, hs_t = torch.cat([det_s[None], dec_s]), torch.cat([det_t[None], dec_t])
    total = total + hs_s.shape[0] * mean_token_dist(hs_s, hs_t)
    return total.clamp_min(1e-12).sqrt()


@MODELS.register_module()
class TokenMatchingLoss(nn.Module):
    """ViDT token matching (see the module docstring); weight 4.0 as in ViDT.

    ``forward(patch_s, patch_t, det_s, det_t, dec_s, dec_t)``: the 4 neck outputs,
    the ``tgt_proj`` outputs and the decoder layer outputs (``decoder`` output 0) of
    student and teacher.

    Args:
        loss_weight (float): the weight (ViDT: 4.0).
        decoder_term (bool): keep the (L + 1) * d(H_s, H_t) term (the reference,
            default); ``False`` drops it (L_tm' of the module docstring).
    """

    def __init__(self, loss_weight=4.0, decoder_term=True):
        super().__init__()
        if not isinstance(decoder_term, bool):
            raise TypeError(f'TokenMatchingLoss.decoder_term must be True or False, got '
                            f'{decoder_term!r}')
        self.loss_weight = loss_weight
        self.decoder_term = decoder_term

    def forward(self, patch_s, patch_t, det_s, det_t, dec_s, dec_t):
        return self.loss_weight * token_matching_loss(
            patch_s, patch_t, det_s, det_t, dec_s, dec_t, decoder_term=self.decoder_term)
