"""EPIC-KITCHENS-100 action recognition (challenge C1) metrics, in plain numpy.

Reproduces the official scorer, ``epic-kitchens/C1-Action-Recognition``
(``evaluate.py``, ``utils/metrics.py``, ``utils/scoring.py``,
``utils/actions.py``; read at commits d92c7f84 and e3b47d1f), step by step:

- **Ranks.** A class ranking is ``argsort`` of the scores, reversed
  (highest first); top-k accuracy is the fraction of segments whose label is
  among the first k ranked classes.
- **Actions** (``compute_action_scores``, ``top_n=100``): per segment, take the
  top-100 verb scores and the top-100 noun scores (all 97 verbs, the best 100
  of 300 nouns), softmax each (``scipy.special.softmax`` with its default
  ``axis=None``, i.e. over the whole ``[N, 100]`` array: a positive constant
  per array, which changes no ranking), multiply every verb with every noun,
  rank the products and keep the best 100 (verb, noun) pairs. The official
  script then puts them into a ``{action_id: score}`` dict and ranks that dict
  by score again; we do the same, so ties come out as they do there.
- **Action id** ``verb * 1000 + noun`` (``_ACTION_VERB_MULTIPLIER = 1000``),
  not ``verb * num_nouns + noun``; only equality of ids matters.
- **Subsets.** *Unseen*: segments of the participants in
  ``EPIC_100_unseen_participant_ids_{validation,test}.csv``. *Tail*: tail verb
  = the segment's verb is in ``EPIC_100_tail_verbs.csv``, tail noun = its noun
  is in ``EPIC_100_tail_nouns.csv``, tail *action* = tail verb **or** tail noun.
  Only top-1 is reported on subsets (as the leaderboard does).
- **Percentages.** Accuracies are reported ×100, as ``evaluate.py`` prints
  them and as the leaderboard shows them.

Our heads output probabilities, so :func:`compute_epic_metrics` passes
:func:`log_probabilities` to the official routine, exactly what the Codabench
export writes: the softmax over the top-n log-probabilities gives the
probabilities renormalised over the top-n, so actions rank by
``p(verb) * p(noun)``, and verb/noun ranks are those of the probabilities. A
probability of exactly 0 becomes :data:`LOG_FLOOR` in both, not ``-inf``
here and a finite floor there: with ``-inf`` every pair with a zero would
tie at product 0, while the leaderboard ranks those pairs by the other
factor, and action top-5 differed. Work is done in float64.

Not in the official scorer: **mean class accuracy** (verb and noun), the
unweighted mean, over the classes present in the labels, of each class's
top-1 recall (a mean per-class recall). Classes that are only predicted do not
count (MMAction2's ``mean_class_accuracy`` averages over the classes present or
predicted, a class only predicted counting 0, so the two agree only when every
predicted class is present), and every class present counts (the EPIC-55
leaderboard used only many-shot classes).

Subsets with no segments (e.g. no unseen participant among the segments) are
left out of the result instead of raising, as the official script does for
*unseen*; it would raise for an empty *tail* subset.
"""
import csv
import re
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from ..utils import EpicError

ACTION_VERB_MULTIPLIER = 1000
ACTION_TOP_N = 100
TASKS = ('verb', 'noun', 'action')
#: ``log`` of the smallest normal float64: what a probability of 0 becomes, in
#: the metric and in the Codabench export alike. Finite (JSON has no
#: ``-Infinity``), below ``log`` of any float32 probability > 0 (>= -103.3), so no
#: ranking changes, and averages of logs stay finite.
LOG_FLOOR = float(np.log(np.finfo(np.float64).tiny))
SUBSETS = ('unseen', 'tail')
_ACTION_CHUNK = 512  # segments ranked at once: bounds the [chunk, 97 * 100] products


class EpicCsvError(EpicError, ValueError):
    """An official tail-class or unseen-participant CSV that cannot be read."""


# --- the official routine ------------------------------------------------------


def log_probabilities(probs: np.ndarray) -> np.ndarray:
    """``log(probs)`` in float64, with 0 mapped to :data:`LOG_FLOOR`."""
    probs = np.asarray(probs, dtype=np.float64)
    return np.log(np.maximum(probs, np.finfo(np.float64).tiny))


def action_ids(verbs: Union[int, np.ndarray],
               nouns: Union[int, np.ndarray]) -> Union[int, np.ndarray]:
    """The official action id, ``verb * 1000 + noun``."""
    return verbs * ACTION_VERB_MULTIPLIER + nouns


def scores_to_ranks(scores: np.ndarray) -> np.ndarray:
    """Class indices of each row, highest score first (``[N, C]``)."""
    scores = np.asarray(scores)
    if scores.ndim != 2:
        raise ValueError(f'scores must be [num_segments, num_classes], got {scores.shape}')
    return scores.argsort(axis=-1)[:, ::-1]


def topk_accuracy(ranks: np.ndarray, labels: np.ndarray,
                  ks: Union[int, Sequence[int]] = (1, 5)) -> List[float]:
    """Fraction of rows whose label is in the first k ranked classes, per k."""
    ks = (ks, ) if isinstance(ks, int) else tuple(ks)
    ranks, labels = np.asarray(ranks), np.asarray(labels)
    if ranks.ndim != 2 or labels.ndim != 1 or len(ranks) != len(labels):
        raise ValueError(f'need ranks [N, C] and labels [N], got {ranks.shape} and '
                         f'{labels.shape}')
    if len(ranks) == 0:
        raise ValueError('need at least one segment to compute an accuracy')
    hits = ranks[:, :max(ks)] == labels[:, None]
    return [float(hits[:, :k].any(axis=1).mean()) for k in ks]


def top_k(scores: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """``(ids, scores)``, each ``[N, k]``: best first, equal scores by lower id."""
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    ids = np.argsort(-scores, axis=1, kind='stable')[:, :k]
    return ids, np.take_along_axis(scores, ids, axis=1)


def top_actions(verb_score: np.ndarray, noun_score: np.ndarray,
                k: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(verb_ids, noun_ids, scores)``, each ``[N, k]``: the best ``k`` products.

    Equal products go to the better-ranked verb (:func:`top_k` order), then
    the better-ranked noun. With that order the best ``k`` products of
    non-negative scores are always among the top-``k`` verbs x top-``k``
    nouns, so only those ``k * k`` pairs are ranked, not all ``V * Nn``
    (29,100 for EPIC).
    """
    verb_score = np.asarray(verb_score, dtype=np.float64)
    noun_score = np.asarray(noun_score, dtype=np.float64)
    if (verb_score < 0).any() or (noun_score < 0).any():
        raise ValueError('action scores need probabilities (>= 0)')
    verbs, verb_p = top_k(verb_score, k)
    nouns, noun_p = top_k(noun_score, k)
    kv, kn = verbs.shape[1], nouns.shape[1]
    product = (verb_p[:, :, None] * noun_p[:, None, :]).reshape(len(verbs), -1)
    # pairs are laid out by (verb rank, noun rank): a stable sort breaks ties so
    order = np.argsort(-product, axis=1, kind='stable')
    pair_verb = np.repeat(verbs, kn, axis=1)
    pair_noun = np.tile(nouns, (1, kv))
    k = min(k, product.shape[1])
    order = order[:, :k]
    take = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    return take(pair_verb), take(pair_noun), take(product)


def _top_scores(scores: np.ndarray, top_n: int) -> Tuple[np.ndarray, np.ndarray]:
    idx = scores_to_ranks(scores)[:, :top_n]
    return idx, np.take_along_axis(scores, idx, axis=1)


def _softmax_whole_array(x: np.ndarray) -> np.ndarray:
    # scipy.special.softmax(x) with its default axis=None, as the official code calls it
    shifted = np.exp(x - x.max())
    return shifted / shifted.sum()


def compute_action_scores(verb_scores: np.ndarray, noun_scores: np.ndarray,
                          top_n: int = ACTION_TOP_N
                          ) -> Tuple[Tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The official ``compute_action_scores``: the top-n (verb, noun) pairs.

    Args:
        verb_scores (np.ndarray): ``[N, V]`` scores (logits or log-probabilities).
        noun_scores (np.ndarray): ``[N, Nn]`` scores.
        top_n (int): Verbs, nouns and actions kept. Defaults to 100.

    Returns:
        tuple: ``((verbs, nouns), scores)``, each ``[N, min(top_n, V' * Nn')]``
        with ``V' = min(top_n, V)`` and ``Nn' = min(top_n, Nn)``: the pairs in the official order and their
        products of softmaxed scores.
    """
    verb_scores, noun_scores = np.asarray(verb_scores), np.asarray(noun_scores)
    if len(verb_scores) != len(noun_scores):
        raise ValueError(f'{len(verb_scores)} verb score rows but {len(noun_scores)} '
                         'noun score rows')
    if len(verb_scores) == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return (empty, empty), np.zeros((0, 0))
    top_verbs, top_verb_scores = _top_scores(verb_scores, top_n)
    top_nouns, top_noun_scores = _top_scores(noun_scores, top_n)
    verb_probs = _softmax_whole_array(top_verb_scores)
    noun_probs = _softmax_whole_array(top_noun_scores)
    num_nouns = noun_probs.shape[1]
    verbs, nouns, scores = [], [], []
    for start in range(0, len(verb_probs), _ACTION_CHUNK):
        rows = slice(start, start + _ACTION_CHUNK)
        products = (verb_probs[rows, :, None] * noun_probs[rows, None, :]).reshape(
            len(verb_probs[rows]), -1)
        order = products.argsort(axis=-1)[:, ::-1][:, :top_n]
        verbs.append(np.take_along_axis(top_verbs[rows], order // num_nouns, axis=1))
        nouns.append(np.take_along_axis(top_nouns[rows], order % num_nouns, axis=1))
        scores.append(np.take_along_axis(products, order, axis=1))
    return (np.concatenate(verbs), np.concatenate(nouns)), np.concatenate(scores)


def action_ranks(verb_scores: np.ndarray, noun_scores: np.ndarray,
                 top_n: int = ACTION_TOP_N) -> np.ndarray:
    """Action ids ranked as the official scorer ranks them, ``[N, <= top_n]``.

    ``compute_action_scores`` followed by the official script's ranking of the
    ``{action_id: score}`` dict it builds from them.
    """
    num_nouns = np.shape(noun_scores)[-1]
    if num_nouns > ACTION_VERB_MULTIPLIER:
        raise ValueError(f'the official action id verb * {ACTION_VERB_MULTIPLIER} + '
                         f'noun needs at most {ACTION_VERB_MULTIPLIER} nouns, got '
                         f'{num_nouns}')
    (verbs, nouns), scores = compute_action_scores(verb_scores, noun_scores, top_n)
    ids = action_ids(verbs, nouns)
    return np.take_along_axis(ids, scores.argsort(axis=-1)[:, ::-1], axis=1)


def mean_class_accuracy(ranks: np.ndarray, labels: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of their top-1 recall.

    Not official; classes that are only predicted are left out.
    """
    predictions = np.asarray(ranks)[:, 0]
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError('need at least one segment to compute an accuracy')
    recalls = [np.mean(predictions[labels == c] == c) for c in np.unique(labels)]
    return float(np.mean(recalls))


# --- subsets and the whole table --------------------------------------------------


def epic_subsets(verb_labels: np.ndarray,
                 noun_labels: np.ndarray,
                 participant_ids: Optional[Sequence[str]] = None,
                 tail_verbs: Optional[Iterable[int]] = None,
                 tail_nouns: Optional[Iterable[int]] = None,
                 unseen_participants: Optional[Iterable[str]] = None
                 ) -> Dict[str, np.ndarray]:
    """Boolean masks of the official subsets that the given lists define.

    Keys (present only when their lists are given): ``'unseen'`` (needs
    ``participant_ids`` and ``unseen_participants``), ``'tail_verb'``,
    ``'tail_noun'`` and ``'tail_action'`` (tail verb or tail noun; needs both
    lists).
    """
    verb_labels, noun_labels = np.asarray(verb_labels), np.asarray(noun_labels)
    masks = {}
    if unseen_participants is not None:
        if participant_ids is None:
            raise ValueError('unseen_participants given without participant_ids')
        participant_ids = np.asarray(participant_ids, dtype=str)
        if participant_ids.shape != verb_labels.shape:
            raise ValueError(f'{len(participant_ids)} participant ids for '
                             f'{len(verb_labels)} segments')
        masks['unseen'] = np.isin(participant_ids,
                                  np.asarray(list(unseen_participants), dtype=str))
    if tail_verbs is not None:
        masks['tail_verb'] = np.isin(verb_labels, np.asarray(list(tail_verbs), dtype=int))
    if tail_nouns is not None:
        masks['tail_noun'] = np.isin(noun_labels, np.asarray(list(tail_nouns), dtype=int))
    if tail_verbs is not None and tail_nouns is not None:
        masks['tail_action'] = masks['tail_verb'] | masks['tail_noun']
    return masks


def _check_inputs(scores: np.ndarray, labels: np.ndarray, task: str) -> None:
    if scores.ndim != 2:
        raise ValueError(f'{task}_scores must be [num_segments, num_{task}s], got '
                         f'{scores.shape}')
    if labels.shape != (len(scores), ):
        raise ValueError(f'{task}_labels must be [{len(scores)}], got {labels.shape}')
    if not np.isfinite(scores).all() or (scores < 0).any():
        raise ValueError(f'{task}_scores must be probabilities (finite, >= 0)')
    if ((labels < 0) | (labels >= scores.shape[1])).any():
        bad = labels[(labels < 0) | (labels >= scores.shape[1])]
        raise ValueError(f'{task}_labels must lie in [0, {scores.shape[1]}), got '
                         f'{sorted(set(bad.tolist()))[:5]} (drop unlabelled segments '
                         'first)')


def compute_epic_metrics(verb_scores: np.ndarray,
                         noun_scores: np.ndarray,
                         verb_labels: np.ndarray,
                         noun_labels: np.ndarray,
                         participant_ids: Optional[Sequence[str]] = None,
                         tail_verbs: Optional[Iterable[int]] = None,
                         tail_nouns: Optional[Iterable[int]] = None,
                         unseen_participants: Optional[Iterable[str]] = None,
                         topk: Sequence[int] = (1, 5)) -> Dict[str, float]:
    """The EPIC-KITCHENS-100 action recognition table, in percent.

    Args:
        verb_scores (np.ndarray): ``[N, V]`` verb probabilities.
        noun_scores (np.ndarray): ``[N, Nn]`` noun probabilities.
        verb_labels (np.ndarray): ``[N]`` verb classes (all labelled).
        noun_labels (np.ndarray): ``[N]`` noun classes.
        participant_ids (Sequence[str], optional): ``[N]``; needed for
            ``unseen_participants``.
        tail_verbs, tail_nouns (Iterable[int], optional): Tail classes
            (:func:`read_tail_verbs`, :func:`read_tail_nouns`).
        unseen_participants (Iterable[str], optional): Participants absent
            from training (:func:`read_unseen_participants`).
        topk (Sequence[int]): k of the overall top-k accuracies (at most 100
            for actions). Defaults to ``(1, 5)``.

    Returns:
        dict: ``{verb,noun,action}_top{k}`` for each k,
        ``{verb,noun}_mean_class_acc``, and, when their lists are given and
        their subsets are not empty, ``unseen_{verb,noun,action}_top1`` and
        ``tail_{verb,noun,action}_top1`` (``tail_action_top1`` needs both tail
        lists).
    """
    verb_scores = np.asarray(verb_scores, dtype=np.float64)
    noun_scores = np.asarray(noun_scores, dtype=np.float64)
    labels = {'verb': np.asarray(verb_labels, dtype=np.int64),
              'noun': np.asarray(noun_labels, dtype=np.int64)}
    _check_inputs(verb_scores, labels['verb'], 'verb')
    _check_inputs(noun_scores, labels['noun'], 'noun')
    if len(verb_scores) != len(noun_scores):
        raise ValueError(f'{len(verb_scores)} verb score rows but {len(noun_scores)} '
                         'noun score rows')
    if len(verb_scores) == 0:
        raise ValueError('need at least one segment to evaluate')
    topk = tuple(int(k) for k in topk)
    if not topk or min(topk) < 1 or max(topk) > ACTION_TOP_N:
        raise ValueError(f'topk must be in [1, {ACTION_TOP_N}] (the official scorer '
                         f'ranks {ACTION_TOP_N} actions), got {topk}')
    labels['action'] = action_ids(labels['verb'], labels['noun'])

    # the export's scores: the leaderboard ranks exactly these
    log_verb, log_noun = log_probabilities(verb_scores), log_probabilities(noun_scores)
    ranks = {'verb': scores_to_ranks(log_verb), 'noun': scores_to_ranks(log_noun),
             'action': action_ranks(log_verb, log_noun)}

    metrics = {}
    for task in TASKS:
        for k, acc in zip(topk, topk_accuracy(ranks[task], labels[task], topk)):
            metrics[f'{task}_top{k}'] = acc * 100
    for task in ('verb', 'noun'):
        metrics[f'{task}_mean_class_acc'] = (
            mean_class_accuracy(ranks[task], labels[task]) * 100)

    masks = epic_subsets(labels['verb'], labels['noun'], participant_ids, tail_verbs,
                         tail_nouns, unseen_participants)
    for name in SUBSETS:
        for task in TASKS:
            mask = masks.get('unseen' if name == 'unseen' else f'tail_{task}')
            if mask is not None and mask.any():
                acc, = topk_accuracy(ranks[task][mask], labels[task][mask], 1)
                metrics[f'{name}_{task}_top1'] = acc * 100
    return metrics


# --- the official CSVs --------------------------------------------------------------


def _read_column(path: str, column: str) -> List[str]:
    try:
        f = open(path, newline='', encoding='utf-8-sig')  # spreadsheets add a BOM
    except OSError as e:
        raise EpicCsvError(f'cannot read {path}: {e.strerror}') from e
    with f:
        reader = csv.DictReader(f)
        if column not in (reader.fieldnames or []):
            raise EpicCsvError(f'{path}:1: expected a {column!r} column, header is '
                               f'{reader.fieldnames}')
        values = []
        for row in reader:
            value = (row[column] or '').strip()
            if not value:
                raise EpicCsvError(f'{path}:{reader.line_num}: empty {column!r}')
            values.append(value)
    return values


def _read_classes(path: str, column: str) -> List[int]:
    values = _read_column(path, column)
    try:
        return [int(v) for v in values]
    except ValueError:
        bad = next(v for v in values if not v.lstrip('-').isdigit())
        raise EpicCsvError(f'{path}: {column!r} must hold class indices, got '
                           f'{bad!r}') from None


def read_tail_verbs(path: str) -> List[int]:
    """Verb classes of ``EPIC_100_tail_verbs.csv`` (column ``verb``)."""
    return _read_classes(path, 'verb')


def read_tail_nouns(path: str) -> List[int]:
    """Noun classes of ``EPIC_100_tail_nouns.csv`` (column ``noun``)."""
    return _read_classes(path, 'noun')


def read_unseen_participants(path: str) -> List[str]:
    """Participant ids of ``EPIC_100_unseen_participant_ids_{split}.csv``."""
    return _read_column(path, 'participant_id')


def summary_table(metrics: Mapping[str, float]) -> str:
    """The leaderboard's layout: rows overall/unseen/tail, top-k columns.

    Accepts the metrics with or without their ``epic/`` prefix; what is
    missing (e.g. top-5 on subsets, which the leaderboard does not report)
    shows as ``-``. Mean class accuracies follow on a line of their own.
    """
    flat = {key.rsplit('/', 1)[-1]: value for key, value in metrics.items()}
    ks = {1}
    for key in flat:
        match = re.fullmatch(r'(?:verb|noun|action)_top(\d+)', key)
        if match:
            ks.add(int(match.group(1)))
    ks = sorted(ks)
    width = 3 * 8
    lines = [' ' * 9 + ''.join(f'| {f"Top-{k} accuracy (%)":<{width - 1}}' for k in ks),
             ' ' * 9 + ''.join('|' + ''.join(f'{t:>8}' for t in TASKS)[1:] + ' '
                               for _ in ks)]
    for row, key_prefix in (('overall', ''), ('unseen', 'unseen_'), ('tail', 'tail_')):
        cells = []
        for k in ks:
            values = [flat.get(f'{key_prefix}{task}_top{k}') for task in TASKS]
            cells.append('|' + ''.join('       -' if v is None else f'{v:8.2f}'
                                       for v in values)[1:] + ' ')
        lines.append(f'{row:<9}' + ''.join(cells))
    mca = [f'{task} {flat[f"{task}_mean_class_acc"]:.2f}' for task in ('verb', 'noun')
           if f'{task}_mean_class_acc' in flat]
    if mca:
        lines.append(f'mean class accuracy (%): {", ".join(mca)}')
    return '\n'.join(line.rstrip() for line in lines)
