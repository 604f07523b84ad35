"""Average the results of several models, views or seeds, per narration id.

Results files of different runs list the same segments in whatever order
their data loaders produced, so they are aligned by ``narration_id`` before
averaging; anything that would make the average meaningless (other segments,
other class counts, conflicting labels) is refused, naming the file.
"""
from typing import List, Optional, Sequence

import numpy as np

from ..results.epic_results import UNLABELLED, EpicResults
from .scores import log_probabilities, softmax_rows
from ..utils import EpicError

__all__ = ['ENSEMBLE_MODES', 'EnsembleError', 'align_to', 'ensemble', 'normalise_weights']

#: ``prob``: weighted mean of the probabilities. ``logit``: weighted mean of the
#: log-probabilities (a weighted geometric mean), softmaxed back to probabilities.
ENSEMBLE_MODES = ('prob', 'logit')
_SHOW = 5  # offending ids named in a message


class EnsembleError(EpicError, ValueError):
    """Results that cannot be averaged together; names the file and the ids."""


def normalise_weights(weights: Optional[Sequence[float]], count: int) -> np.ndarray:
    """Weights summing to 1 (equal weights if None); all must be finite and > 0."""
    if weights is None:
        return np.full(count, 1.0 / count)
    weights = np.asarray(list(weights), dtype=np.float64)
    if weights.shape != (count, ):
        raise EnsembleError(f'{len(weights)} weights for {count} results files')
    if not np.isfinite(weights).all() or (weights <= 0).any():
        raise EnsembleError(f'weights must be finite and > 0, got {weights.tolist()}')
    return weights / weights.sum()


def align_to(results: EpicResults, narration_ids: np.ndarray,
             where: str = 'results') -> EpicResults:
    """``results`` reordered to ``narration_ids``, which it must hold exactly."""
    ids = np.asarray(results.narration_id)
    if len(set(ids.tolist())) != len(ids):
        uniq, counts = np.unique(ids, return_counts=True)
        dup = uniq[counts > 1].tolist()
        raise EnsembleError(f'{where}: {len(dup)} duplicate narration ids, e.g. '
                            f'{dup[:_SHOW]}')
    position = {nid: i for i, nid in enumerate(ids.tolist())}
    wanted = np.asarray(narration_ids).tolist()
    missing = [nid for nid in wanted if nid not in position]
    extra = sorted(set(position) - set(wanted))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f'lacks {len(missing)} narration ids, e.g. {missing[:_SHOW]}')
        if extra:
            parts.append(f'has {len(extra)} other narration ids, e.g. {extra[:_SHOW]}')
        raise EnsembleError(f'{where}: ' + ' and '.join(parts))
    order = np.array([position[nid] for nid in wanted], dtype=np.int64)
    return results.take(order)


def _merge_labels(first: np.ndarray, other: np.ndarray, ids: np.ndarray, key: str,
                  where: str, first_where: str) -> np.ndarray:
    both = (first != UNLABELLED) & (other != UNLABELLED)
    clash = both & (first != other)
    if clash.any():
        shown = [f'{nid} ({a} vs {b})' for nid, a, b in
                 zip(ids[clash][:_SHOW], first[clash][:_SHOW], other[clash][:_SHOW])]
        raise EnsembleError(f'{where}: {key} disagrees with {first_where} for '
                            f'{int(clash.sum())} segments, e.g. {shown}')
    return np.where(first != UNLABELLED, first, other)


def ensemble(results: Sequence[EpicResults],
             weights: Optional[Sequence[float]] = None,
             mode: str = 'prob',
             names: Optional[Sequence[str]] = None) -> EpicResults:
    """Weighted average of several results, in the first one's segment order.

    Args:
        results: Results over the same narration ids (any order) with the same
            numbers of verb and noun classes.
        weights: One per result, > 0, normalised to sum 1. Defaults to equal.
        mode: ``'prob'`` or ``'logit'`` (see :data:`ENSEMBLE_MODES`).
        names: Names of the results (their files) for messages.

    Returns:
        EpicResults: float64 probabilities; the labels known to any input
        (they must agree where several know them). A single input is returned
        as it is (no renormalisation), so evaluating it gives its own numbers.
    """
    if mode not in ENSEMBLE_MODES:
        raise EnsembleError(f'ensemble mode must be one of {ENSEMBLE_MODES}, got '
                            f'{mode!r}')
    results = list(results)
    if not results:
        raise EnsembleError('no results to ensemble')
    names: List[str] = (list(names) if names is not None
                        else [f'results[{i}]' for i in range(len(results))])
    if len(names) != len(results):
        raise EnsembleError(f'{len(names)} names for {len(results)} results')
    w = normalise_weights(weights, len(results))
    first = align_to(results[0], results[0].narration_id, where=names[0])  # duplicates
    if len(results) == 1:
        return results[0]

    aligned = [first]
    for res, name in zip(results[1:], names[1:]):
        if (res.num_verbs, res.num_nouns) != (first.num_verbs, first.num_nouns):
            raise EnsembleError(
                f'{name}: {res.num_verbs} verbs and {res.num_nouns} nouns, but '
                f'{names[0]} has {first.num_verbs} verbs and {first.num_nouns} nouns')
        aligned.append(align_to(res, first.narration_id, where=name))

    ids = first.narration_id
    verb_label, noun_label = first.verb_label, first.noun_label
    for res, name in zip(aligned[1:], names[1:]):
        clash = res.participant_id != first.participant_id
        if clash.any():
            raise EnsembleError(f'{name}: participant_id disagrees with {names[0]} for '
                                f'{int(clash.sum())} segments, e.g. '
                                f'{ids[clash][:_SHOW].tolist()}')
        verb_label = _merge_labels(verb_label, res.verb_label, ids, 'verb_label', name,
                                   names[0])
        noun_label = _merge_labels(noun_label, res.noun_label, ids, 'noun_label', name,
                                   names[0])

    scores = {}
    for key in ('verb_score', 'noun_score'):
        if mode == 'prob':
            scores[key] = sum(wi * np.asarray(getattr(r, key), dtype=np.float64)
                              for wi, r in zip(w, aligned))
        else:
            scores[key] = softmax_rows(sum(wi * log_probabilities(getattr(r, key))
                                           for wi, r in zip(w, aligned)))
    return EpicResults(narration_id=ids, participant_id=first.participant_id,
                       verb_score=scores['verb_score'], noun_score=scores['noun_score'],
                       verb_label=verb_label, noun_label=noun_label,
                       version=first.version)
