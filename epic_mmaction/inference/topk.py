"""Class names and the top-k verbs, nouns and actions of each window.

Ranking reuses :mod:`epic_mmaction.analysis.predictions` (an action's score
is ``p(verb) * p(noun)``, as the official scorer ranks actions), so windows
and per-narration predictions read the same way.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..evaluation.functional import top_actions, top_k
from ..annotations.records import read_classes
from ..utils import UsageError

__all__ = ['ClassNames', 'load_class_names', 'topk_columns']


@dataclass(frozen=True)
class ClassNames:
    verbs: List[str]
    nouns: List[str]


def _names(path: Optional[str], count: int, kind: str) -> List[str]:
    if path is None:
        return [f'{kind}_{i}' for i in range(count)]
    names = read_classes(path)
    if len(names) != count:
        raise UsageError(f'{path} has {len(names)} {kind} classes but the model predicts '
                         f'{count}: wrong class CSV for this checkpoint?')
    return names


def load_class_names(verb_csv: Optional[str], noun_csv: Optional[str],
                     num_verbs: int, num_nouns: int) -> ClassNames:
    """Names from ``EPIC_100_{verb,noun}_classes.csv``; ``verb_<i>``/``noun_<i>`` without.

    Raises ``ValueError`` if a CSV's class count differs from the head's and
    ``AnnotationError`` if it cannot be read.
    """
    return ClassNames(_names(verb_csv, num_verbs, 'verb'), _names(noun_csv, num_nouns, 'noun'))


def topk_columns(verb_score: np.ndarray, noun_score: np.ndarray, names: ClassNames,
                 k: int = 5) -> Dict[str, np.ndarray]:
    """``{task}_{r}`` (name) and ``{task}_{r}_score`` for task in verb, noun, action.

    Ranks ``r`` run 1..k, best first; an action's name is ``'verb noun'``.
    """
    verb_score, noun_score = np.atleast_2d(verb_score), np.atleast_2d(noun_score)
    if verb_score.shape[1] != len(names.verbs) or noun_score.shape[1] != len(names.nouns):
        raise ValueError(f'scores for {verb_score.shape[1]} verbs/{noun_score.shape[1]} '
                         f'nouns, names for {len(names.verbs)}/{len(names.nouns)}')
    verb_names = np.asarray(names.verbs, dtype=object)
    noun_names = np.asarray(names.nouns, dtype=object)
    verbs, verb_p = top_k(verb_score, k)
    nouns, noun_p = top_k(noun_score, k)
    act_v, act_n, act_p = top_actions(verb_score, noun_score, k)
    columns: Dict[str, np.ndarray] = {}
    for task, task_names, scores in (('verb', verb_names[verbs], verb_p),
                                     ('noun', noun_names[nouns], noun_p),
                                     ('action', verb_names[act_v] + ' ' + noun_names[act_n],
                                      act_p)):
        for r in range(task_names.shape[1]):
            columns[f'{task}_{r + 1}'] = task_names[:, r]
            columns[f'{task}_{r + 1}_score'] = scores[:, r]
    return columns
