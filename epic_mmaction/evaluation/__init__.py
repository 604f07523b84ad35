"""EPIC-KITCHENS-100 evaluation: the official metric, results files (EPIC and
single-label)."""
from ..compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .clip_results import (CLIP_RESULTS_FORMAT, CLIP_RESULTS_VERSION, ClipResults,
                           DumpClipResults, clip_record_from_sample, load_any_results,
                           load_clip_results, save_clip_results)
from .epic_metric import EpicActionMetric, summary_table
from .functional import (ACTION_TOP_N, ACTION_VERB_MULTIPLIER, EpicCsvError,
                         action_ids, action_ranks, compute_action_scores,
                         compute_epic_metrics, epic_subsets, mean_class_accuracy,
                         read_tail_nouns, read_tail_verbs, read_unseen_participants,
                         scores_to_ranks, topk_accuracy)
from .results import (RESULTS_VERSION, DumpEpicResults, EpicResults, ResultsFileError,
                      load_results, record_from_sample, save_results)
from .labelled_acc import LabelledAccMetric
from .val_loss import ClassificationLossMetric

__all__ = [
    'EpicActionMetric', 'DumpEpicResults', 'summary_table', 'compute_epic_metrics',
    'compute_action_scores', 'action_ranks', 'action_ids', 'scores_to_ranks',
    'topk_accuracy', 'mean_class_accuracy', 'epic_subsets', 'read_tail_verbs',
    'read_tail_nouns', 'read_unseen_participants', 'EpicCsvError', 'EpicResults',
    'ResultsFileError', 'save_results', 'load_results', 'record_from_sample',
    'RESULTS_VERSION', 'ACTION_TOP_N', 'ACTION_VERB_MULTIPLIER',
    'ClassificationLossMetric', 'LabelledAccMetric', 'ClipResults', 'DumpClipResults',
    'clip_record_from_sample',
    'save_clip_results', 'load_clip_results', 'load_any_results', 'CLIP_RESULTS_FORMAT',
    'CLIP_RESULTS_VERSION'
]
