"""Per-narration predictions: top-5 verbs, nouns and actions with confidences.

For reading failure cases by hand and for joining with other tables. An
action's score is ``p(verb) * p(noun)``, the product of the two heads'
probabilities, which ranks actions as the official scorer does. Single-label
(per-clip) results get the same table with one task, ``class``
(:func:`clip_predictions_table`).
"""
import csv
from typing import Dict, Optional, Sequence

import numpy as np
import pandas as pd

from ..evaluation.functional import top_actions, top_k
from ..results.clip_results import ClipResults
from ..results.epic_results import UNLABELLED, EpicResults
from ..utils.fileio import atomic_write

__all__ = ['TASKS', 'predictions_table', 'clip_predictions_table',
           'write_predictions_csv']

TASKS = ('verb', 'noun', 'action')


def predictions_table(results: EpicResults, verb_names: Sequence[str],
                      noun_names: Sequence[str], verb_label: Optional[np.ndarray] = None,
                      noun_label: Optional[np.ndarray] = None, k: int = 5) -> pd.DataFrame:
    """One row per narration, in the results' order.

    Columns: ``narration_id``, ``participant_id``, ``gt_verb``, ``gt_noun``,
    ``gt_action`` (names; empty if unlabelled), ``verb_correct``,
    ``noun_correct``, ``action_correct`` (top-1; empty if unlabelled), then
    for each task and rank ``r`` in 1..k ``{task}_{r}`` (name) and
    ``{task}_{r}_score``. An action's name is ``'verb noun'``.

    Labels default to the results' own (``-1`` = unlabelled).
    """
    for names, num, what in ((verb_names, results.num_verbs, 'verb'),
                             (noun_names, results.num_nouns, 'noun')):
        if len(names) != num:
            raise ValueError(f'{len(names)} {what} class names but the results have '
                             f'{num} {what} scores per segment: wrong class CSV?')
    verb_label = results.verb_label if verb_label is None else np.asarray(verb_label)
    noun_label = results.noun_label if noun_label is None else np.asarray(noun_label)
    verb_names = np.asarray(verb_names, dtype=object)
    noun_names = np.asarray(noun_names, dtype=object)
    verbs, verb_p = top_k(results.verb_score, k)
    nouns, noun_p = top_k(results.noun_score, k)
    act_v, act_n, act_p = top_actions(results.verb_score, results.noun_score, k)
    action_names = verb_names[act_v] + ' ' + noun_names[act_n]
    has_verb, has_noun = verb_label != UNLABELLED, noun_label != UNLABELLED
    has_both = has_verb & has_noun

    gt_verb = _name_or_empty(verb_names, verb_label, has_verb)
    gt_noun = _name_or_empty(noun_names, noun_label, has_noun)
    columns = {
        'narration_id': results.narration_id, 'participant_id': results.participant_id,
        'gt_verb': gt_verb, 'gt_noun': gt_noun,
        'gt_action': np.where(has_both, gt_verb + ' ' + gt_noun, ''),
        'verb_correct': _hit(verbs[:, 0] == verb_label, has_verb),
        'noun_correct': _hit(nouns[:, 0] == noun_label, has_noun),
        'action_correct': _hit((act_v[:, 0] == verb_label) & (act_n[:, 0] == noun_label),
                               has_both),
    }
    columns.update(_rank_columns('verb', verb_names[verbs], verb_p))
    columns.update(_rank_columns('noun', noun_names[nouns], noun_p))
    columns.update(_rank_columns('action', action_names, act_p))
    return pd.DataFrame(columns)


def clip_predictions_table(results: ClipResults, class_names: Sequence[str],
                           k: int = 5) -> pd.DataFrame:
    """One row per clip of single-label results, in the results' order.

    Columns: ``video``, ``clip_id``, ``label`` (class id) and ``label_name``,
    ``predicted`` (top-1 class id), ``predicted_name``, ``confidence`` (its
    score), ``correct`` (1/0), then for each rank ``r`` in 1..k
    ``class_{r}`` (name), ``class_{r}_id`` and ``class_{r}_score``, ranked
    as :func:`top_k` ranks. ``label``, ``label_name`` and ``correct`` are
    empty for unlabelled clips.
    """
    if len(class_names) != results.num_classes:
        raise ValueError(f'{len(class_names)} class names but the results have '
                         f'{results.num_classes} scores per clip: wrong class file?')
    names = np.asarray(class_names, dtype=object)
    ids, scores = top_k(results.score, k)
    labelled = results.labelled
    columns = {
        'video': results.video, 'clip_id': results.clip_id,
        'label': pd.Series(results.label, dtype='Int64').where(labelled),
        'label_name': _name_or_empty(names, results.label, labelled),
        'predicted': ids[:, 0], 'predicted_name': names[ids[:, 0]],
        'confidence': scores[:, 0],
        'correct': _hit(ids[:, 0] == results.label, labelled),
    }
    columns.update(_rank_columns('class', names[ids], scores, ids))
    return pd.DataFrame(columns)


def _name_or_empty(names: np.ndarray, labels: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.where(mask, names[np.where(mask, labels, 0)], '')


def _hit(correct: np.ndarray, mask: np.ndarray) -> pd.Series:
    """1/0, <NA> (an empty cell) where unlabelled."""
    return pd.Series(correct.astype(int), dtype='Int64').where(mask)


def _rank_columns(task: str, names: np.ndarray, scores: np.ndarray,
                  ids: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """``{task}_{r}`` (name), ``{task}_{r}_id`` (with ``ids``) and ``{task}_{r}_score``."""
    columns = {}
    for r in range(names.shape[1]):
        columns[f'{task}_{r + 1}'] = names[:, r]
        if ids is not None:
            columns[f'{task}_{r + 1}_id'] = ids[:, r]
        columns[f'{task}_{r + 1}_score'] = scores[:, r]
    return columns


def write_predictions_csv(table: pd.DataFrame, path: str) -> str:
    """Write a table of :func:`predictions_table` or :func:`clip_predictions_table`
    (scores to 6 places)."""
    with atomic_write(path, 'w', newline='', encoding='utf-8') as f:
        table.to_csv(f, index=False, float_format='%.6f', quoting=csv.QUOTE_MINIMAL)
    return path
