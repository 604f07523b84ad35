"""Offline evaluation: score results or submissions against a ground-truth CSV.

The labels come from the official CSV (``EPIC_100_validation.csv``), not from
the results, so a submission (which has no labels) scores the same as the
results file it was exported from, and a results file whose labels disagree
with the CSV (another class mapping, another split) is refused. The numbers
are those of :func:`~epic_mmaction.evaluation.compute_epic_metrics`, i.e. of
the training metric :class:`~epic_mmaction.evaluation.EpicActionMetric`.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from ..annotations.records import read_narrations
from ..evaluation.functional import compute_epic_metrics, epic_subsets
from ..results.epic_results import UNLABELLED, EpicResults
from ..utils import EpicError

__all__ = ['GroundTruthError', 'GroundTruth', 'Evaluation', 'read_ground_truth',
           'attach_ground_truth', 'evaluate_results']

_SHOW = 5  # offending ids named in a message


class GroundTruthError(EpicError, ValueError):
    """A ground-truth CSV that cannot be used, or results that do not match it."""


@dataclass(frozen=True)
class GroundTruth:
    """Labels of a split by narration id, in CSV order."""
    narration_id: np.ndarray
    participant_id: np.ndarray
    verb_class: np.ndarray
    noun_class: np.ndarray
    path: str

    def __len__(self) -> int:
        return len(self.narration_id)


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate_results` found."""
    metrics: Dict[str, float]
    num_segments: int
    num_ignored: int  # results not in the ground truth
    subset_sizes: Dict[str, int] = field(default_factory=dict)


def read_ground_truth(csv_path: str) -> GroundTruth:
    """``narration_id``, ``participant_id``, ``verb_class``, ``noun_class`` of a CSV."""
    rows = read_narrations(csv_path)
    if not rows:
        raise GroundTruthError(f'{csv_path}: no narrations')
    unlabelled = [r for r in rows if not r.labelled]
    if unlabelled:
        raise GroundTruthError(
            f'{csv_path}: {len(unlabelled)} narrations have no verb_class/noun_class, '
            f'e.g. {[r.narration_id for r in unlabelled[:_SHOW]]} (the test split has no '
            'public labels: evaluate on the validation split)')
    ids = np.array([r.narration_id for r in rows], dtype=str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise GroundTruthError(f'{csv_path}: {len(dup)} duplicate narration ids, e.g. '
                               f'{dup[:_SHOW].tolist()}')
    participants = np.array([r.participant_id for r in rows], dtype=str)
    return GroundTruth(narration_id=ids, participant_id=participants,
                       verb_class=np.array([r.verb_class for r in rows], dtype=np.int64),
                       noun_class=np.array([r.noun_class for r in rows], dtype=np.int64),
                       path=csv_path)


def attach_ground_truth(results: EpicResults, gt: GroundTruth,
                        where: str = 'results') -> EpicResults:
    """The results of the ground-truth narrations, in its order, with its labels.

    Every ground-truth narration must be in ``results``; results of other
    narrations are dropped. Labels already in ``results`` must agree.
    """
    position = {nid: i for i, nid in enumerate(np.asarray(results.narration_id).tolist())}
    if len(position) != len(results):
        raise GroundTruthError(f'{where}: duplicate narration ids')
    missing = [nid for nid in gt.narration_id.tolist() if nid not in position]
    if missing:
        raise GroundTruthError(f'{where}: {len(missing)} of the {len(gt)} narrations of '
                               f'{gt.path} are missing, e.g. {missing[:_SHOW]}')
    order = np.array([position[nid] for nid in gt.narration_id.tolist()], dtype=np.int64)
    for key, num, labels in (('verb', results.num_verbs, gt.verb_class),
                             ('noun', results.num_nouns, gt.noun_class)):
        bad = (labels < 0) | (labels >= num)
        if bad.any():
            raise GroundTruthError(f'{gt.path}: {key}_class {labels[bad][0]} of '
                                   f'{gt.narration_id[bad][0]} is not among the {num} '
                                   f'{key} classes of {where}')
        own = getattr(results, f'{key}_label')[order]
        clash = (own != UNLABELLED) & (own != labels)
        if clash.any():
            shown = [f'{nid} ({a} vs {b})' for nid, a, b in
                     zip(gt.narration_id[clash][:_SHOW], own[clash][:_SHOW],
                         labels[clash][:_SHOW])]
            raise GroundTruthError(f'{where}: {int(clash.sum())} {key} labels disagree '
                                   f'with {gt.path}, e.g. {shown}')
    return EpicResults(narration_id=gt.narration_id, participant_id=gt.participant_id,
                       verb_score=results.verb_score[order],
                       noun_score=results.noun_score[order],
                       verb_label=gt.verb_class, noun_label=gt.noun_class,
                       version=results.version)


def evaluate_results(results: EpicResults, gt: GroundTruth,
                     tail_verbs: Optional[Iterable[int]] = None,
                     tail_nouns: Optional[Iterable[int]] = None,
                     unseen_participants: Optional[Iterable[str]] = None,
                     topk: Sequence[int] = (1, 5), where: str = 'results') -> Evaluation:
    """The EPIC-KITCHENS-100 table of ``results`` on the narrations of ``gt``."""
    labelled = attach_ground_truth(results, gt, where=where)
    lists = [None if values is None else list(values)  # iterables are read once
             for values in (tail_verbs, tail_nouns, unseen_participants)]
    kwargs = dict(participant_ids=labelled.participant_id, tail_verbs=lists[0],
                  tail_nouns=lists[1], unseen_participants=lists[2])
    metrics = compute_epic_metrics(labelled.verb_score, labelled.noun_score,
                                   labelled.verb_label, labelled.noun_label,
                                   topk=topk, **kwargs)
    masks = epic_subsets(labelled.verb_label, labelled.noun_label, **kwargs)
    sizes = {name: int(mask.sum()) for name, mask in masks.items()}
    return Evaluation(metrics=metrics, num_segments=len(labelled),
                      num_ignored=len(results) - len(labelled), subset_sizes=sizes)
