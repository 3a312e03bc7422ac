"""NCKD distiller: MMRazor's ConfigurableDistiller that owns the teacher prototype bank."""
from typing import Dict, Optional

from mmrazor.models.distillers.configurable_distiller import ConfigurableDistiller
from mmrazor.registry import MODELS

from ..heads.nc3_head import PrototypeClassifier
from ..utils.prototype_bank import build_prototype_bank
from .recorder_check import RecorderSourceCheckMixin

_BANK_INPUTS = ('preds_T', 'labels')


@MODELS.register_module()
class NCKDDistiller(RecorderSourceCheckMixin, ConfigurableDistiller):
    """Neural-collapse KD (our formulation, ``docs/nckd.md``) with one prototype bank.

    The distiller owns ONE :class:`~mmkd_ext.models.utils.PrototypeBank` of teacher
    class means ``mu_c^T`` (C, d_t), saved in checkpoints as ``distiller.bank.*``, and

    * hands it to every loss of ``distill_losses`` that reads a bank
      (``NC1AlignLoss``, ``NC2StructureLoss``: those configs leave ``bank`` out);
    * hands it to the student's :class:`~mmkd_ext.models.heads.NC3Head` with
      ``class_weights='prototypes'`` when the algorithm prepares the student
      (``prepare_from_student``, called by ``SingleTeacherDistill.__init__``); the
      head keeps a copy of the prototypes in its ``fc.prototypes`` buffer, so the
      converted student checkpoint evaluates without the distiller;
    * updates it (``mode='online'``, training) once per step in
      :meth:`compute_distill_losses`, from the teacher features and labels named by
      ``bank_forward_mappings``, before the losses read it; the fraction of classes
      seen so far is logged as ``bank_coverage`` (not a loss: it has no gradient and
      its name has no "loss").

    Args:
        bank (dict, optional): PrototypeBank config (``num_classes``, ``feat_dim``,
            ``mode``, ``path``, ``momentum``). ``None``: no bank (e.g. NC2 with batch
            teacher means only).
        bank_forward_mappings (dict, optional): where the update reads its inputs, as
            in ``loss_forward_mappings``: ``preds_T`` (N, d_t) teacher features and
            ``labels`` (N,), e.g. ``dict(preds_T=dict(from_student=False,
            recorder='feat', data_idx=0), labels=dict(from_student=True,
            recorder='labels', data_idx=1))``. Required for an online bank.
        **kwargs: as :class:`mmrazor.models.ConfigurableDistiller`.
    """

    def __init__(self, bank: Optional[dict] = None,
                 bank_forward_mappings: Optional[Dict[str, dict]] = None,
                 distill_losses: Optional[Dict[str, dict]] = None, **kwargs):
        bank = build_prototype_bank(bank)
        losses = {name: self._hand_bank(name, cfg, bank)
                  for name, cfg in (distill_losses or {}).items()}
        super().__init__(distill_losses=losses, **kwargs)
        self.bank = bank
        self.bank_forward_mappings = self._check_bank_mappings(bank,
                                                               bank_forward_mappings)

    # -- building -------------------------------------------------------------------
    @staticmethod
    def _hand_bank(name, cfg, bank):
        """The loss config with ``bank`` set to the distiller's bank (losses whose class
        declares ``uses_prototype_bank``)."""
        if not isinstance(cfg, dict) or bank is None:
            return cfg
        loss_type = cfg.get('type')
        loss_cls = loss_type if isinstance(loss_type, type) else MODELS.get(loss_type)
        if not getattr(loss_cls, 'uses_prototype_bank', False):
            return cfg
        if cfg.get('bank') is not None:
            raise ValueError(
                f'NCKDDistiller: distill_losses.{name}.bank is set, but the distiller '
                'owns the one prototype bank (model.distiller.bank) and hands it to '
                f'{cfg["type"]}; remove distill_losses.{name}.bank')
        return dict(cfg, bank=bank)

    def _check_bank_mappings(self, bank, mappings):
        key = 'model.distiller.bank_forward_mappings'
        if bank is None:
            if mappings:
                raise ValueError(f'NCKDDistiller: {key} is set but there is no '
                                 'model.distiller.bank to update')
            return {}
        if not mappings:
            if bank.mode == 'online':
                raise ValueError(
                    f"NCKDDistiller: an online bank needs {key} = dict(preds_T=dict("
                    "from_student=False, recorder=..., data_idx=...), labels=dict("
                    "from_student=True, recorder=..., data_idx=1)): the teacher "
                    'features and labels it is updated from')
            return {}
        if not isinstance(mappings, dict) or set(mappings) != set(_BANK_INPUTS):
            raise ValueError(f'NCKDDistiller: {key} must be a dict with exactly the '
                             f'keys {_BANK_INPUTS}, got {mappings!r}')
        for arg, record in mappings.items():
            if not isinstance(record, dict) or not isinstance(
                    record.get('from_student'), bool) or 'recorder' not in record:
                raise ValueError(
                    f'NCKDDistiller: {key}.{arg} must be a dict with from_student '
                    f'(bool) and recorder, got {record!r}')
            side = 'student' if record['from_student'] else 'teacher'
            recorders = getattr(self, f'{side}_recorders').recorders
            if record['recorder'] not in recorders:
                raise ValueError(
                    f'NCKDDistiller: {key}.{arg}.recorder "{record["recorder"]}" is not '
                    f'in model.distiller.{side}_recorders ({sorted(recorders)})')
        return {arg: dict(record) for arg, record in mappings.items()}

    def prepare_from_student(self, model):
        """Initialise the student recorders and hand the bank to the NC3 head(s)."""
        super().prepare_from_student(model)
        for name, module in model.named_modules():
            if not isinstance(module, PrototypeClassifier) or \
                    module.class_weights != 'prototypes':
                continue
            if self.bank is None:
                if module.bank is None:
                    raise ValueError(
                        f"NCKDDistiller: the student's {name} (NC3Head with "
                        "class_weights='prototypes') needs teacher prototypes; set "
                        'model.distiller.bank')
                continue
            module.set_bank(self.bank)

    # -- training -------------------------------------------------------------------
    def update_bank(self):
        """Update the bank from this step's records; return its class coverage."""
        inputs = {arg: self.get_record(**record)
                  for arg, record in self.bank_forward_mappings.items()}
        if inputs:
            return self.bank(**inputs)  # updates in training mode (online)
        return (self.bank.counts > 0).float().mean()

    def compute_distill_losses(self):
        coverage = self.update_bank() if self.bank is not None else None
        losses = super().compute_distill_losses()
        if coverage is not None:
            losses['bank_coverage'] = coverage
        return losses
