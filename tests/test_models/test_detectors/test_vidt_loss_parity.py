"""Training-loss parity of ``ViDT.loss`` with the reference code (issue 18, item 3).

The reference side is ``tests/data/loss_parity/vidt_nano_losses.pt``, written by
``tools/analysis_tools/make_loss_parity_reference.py`` from the fetched naver-ai/vidt
main (5207d04): its ViDT-nano on the fixture weights (``shared/fixtures/
vidt_nano_reference``) in train mode with dropout 0, on the fixture's padded pair
(image 0 without boxes, image 1, the padded one, with 4 boxes), and its
``SetCriterion`` + ``HungarianMatcher`` built for the 80 mapped COCO ids. Our
``ViDT.loss`` on the same weights (converted on load) and batch must give every
per-layer term and the total to 1e-5 relative. (The distillation terms:
tests/test_models/test_distillers/test_vidt_distill_loss_parity.py.)
"""
import pytest

from mmkd_ext.models.detectors.vidt_weights import COCO_IDS

RTOL = 1e-5
NUM_LAYERS = 7  # backbone [DET] tokens + 6 decoder layers
OURS_TO_REF = {'loss_cls': 'loss_ce', 'loss_bbox': 'loss_bbox', 'loss_iou': 'loss_giou'}


def reference_key(key):
    """Ours -> the reference's: ``d3.loss_iou`` -> ``loss_giou_3`` (layer 3 of 0..5),
    ``loss_cls`` (the final layer) -> ``loss_ce``."""
    if key.startswith('d'):
        layer, name = key.split('.', 1)
        return f'{OURS_TO_REF[name]}_{layer[1:]}'
    return OURS_TO_REF[key]


def test_reference_file_is_for_our_class_order(vidt_loss_parity):
    reference = vidt_loss_parity.reference
    assert reference['coco_ids'] == list(COCO_IDS)
    assert len(reference['det']) == 3 * NUM_LAYERS


def test_vidt_loss_equals_reference_set_criterion(build_vidt, vidt_loss_parity):
    """Focal class / L1 / GIoU terms of the 7 prediction layers and the total."""
    p = vidt_loss_parity
    model = build_vidt(
        num_classes=80,
        init_cfg=dict(type='Pretrained', checkpoint=p.weight_files['student']))
    p.no_dropout(model).train()
    losses = model.loss(*p.batch)
    ours = {reference_key(k): float(v) for k, v in losses.items()}
    ref = p.reference['det']
    assert set(ours) == set(ref)
    errors = {k: abs(ours[k] - ref[k]) / abs(ref[k]) for k in ref}
    table = '\n'.join(f'  {k}: ours {ours[k]:.7g} reference {ref[k]:.7g} rel '
                      f'{errors[k]:.1e}' for k in sorted(ref))
    assert max(errors.values()) <= RTOL, f'ViDT.loss vs SetCriterion:\n{table}'
    total = sum(ours.values())
    assert total == pytest.approx(p.reference['det_total'], rel=RTOL, abs=0)
