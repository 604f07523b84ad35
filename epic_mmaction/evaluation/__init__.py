"""EPIC-KITCHENS-100 evaluation.

- :mod:`.functional`: the official metric and top-k ranking as pure numpy
  functions (torch-free; export and analysis use them).
- :mod:`.metrics`: MMAction2 metrics over them, and the ``--dump`` writers
  (imported by :mod:`epic_mmaction.plugin`, which registers them).
- :mod:`.tta`: test-time augmentation of a config.
"""
from .functional import (ACTION_TOP_N, ACTION_VERB_MULTIPLIER, EpicCsvError, action_ids,
                         action_ranks, compute_action_scores, compute_epic_metrics,
                         epic_subsets, mean_class_accuracy, read_tail_nouns,
                         read_tail_verbs, read_unseen_participants, scores_to_ranks,
                         summary_table, top_actions, top_k, topk_accuracy)

__all__ = [
    'ACTION_TOP_N', 'ACTION_VERB_MULTIPLIER', 'EpicCsvError', 'action_ids', 'action_ranks',
    'compute_action_scores', 'compute_epic_metrics', 'epic_subsets', 'mean_class_accuracy',
    'read_tail_nouns', 'read_tail_verbs', 'read_unseen_participants', 'scores_to_ranks',
    'summary_table', 'top_actions', 'top_k', 'topk_accuracy'
]
