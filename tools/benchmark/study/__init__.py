"""Paired multi-seed studies: everything ``tools/benchmark/digits_{kd,gan,det}.py`` share.

A tool, not part of the ``mmkd_ext`` package: the scripts beside it import it as
``from study import ...`` (a script's own folder is on ``sys.path``); the tests load
it by path (the ``study`` fixture of ``tests/conftest.py``).

* :mod:`.paired_study`: the skeleton of a study script (arguments, configs check,
  train-once teacher, the seeds x methods loop with resume and ETA, report, plot);
* :mod:`.runs`: training one shipped config (the only overrides a study makes);
* :mod:`.stats`: paired differences, confidence intervals, p-values, tables;
* :mod:`.results`: the resumable JSONL of finished runs and the progress line;
* :mod:`.plot`: the paired-difference plot; :mod:`.timing`: interleaved cost ratios.

Design (docs/studies.md): seed ``s`` fixes the student's initialisation, data order
and augmentation for every method (``RNGStateHook``), so two methods run with the same
seed differ only by the distillation. A method is then compared with a reference
(the student alone, logit KD) through the **paired differences**
``d_s = metric(method, s) - metric(reference, s)`` over the seeds both have finished:

* one test per comparison, the paired t-test: mean difference, its 95 % confidence
  interval ``mean(d) +- t_{0.975, n-1} * sd(d) / sqrt(n)`` (sd with ``ddof=1``) and
  the two-sided p-value, all from the same t statistic, so ``p < 0.05`` exactly when
  the interval excludes 0; the Wilcoxon signed-rank p-value is an extra column
  (``p_wilcoxon``) that decides nothing;
* each study names its family of comparisons (the script's ``FAMILY``) and reports
  Holm-adjusted p-values over it (``p_holm``), which the tables and the plot use.

Per method the table shows ``mean +- sample sd`` (``ddof=1``).

Results are appended to a JSONL file, one line per finished run (method, seed, the
study's settings, metrics, seconds); a restarted study reads it back and skips every
run whose method, seed and settings are already there.
"""
from .paired_study import (PairedStudy, check_family, classifier_study,
                           classifier_study_parser, parse_classifier_study,
                           run_classifier_study, study_parser, top1_formatter)
from .plot import plot_paired
from .results import Progress, ResultsFile
from .runs import (apply_overrides, paired_streams_configured, run_config, run_configs,
                   train_command, unpaired_warning)
from .stats import holm, markdown_tables, mean_sd, paired_difference, paired_report
from .timing import hold_heap, interleaved_ratio

__all__ = [
    'PairedStudy', 'check_family', 'study_parser', 'classifier_study',
    'classifier_study_parser', 'parse_classifier_study', 'run_classifier_study',
    'top1_formatter', 'holm', 'plot_paired', 'Progress', 'ResultsFile', 'apply_overrides',
    'paired_streams_configured', 'run_config', 'run_configs', 'train_command',
    'unpaired_warning', 'markdown_tables', 'mean_sd', 'paired_difference',
    'paired_report', 'interleaved_ratio', 'hold_heap'
]
