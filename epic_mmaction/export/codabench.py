"""Codabench submissions for EPIC-KITCHENS-100 action recognition (challenge C1).

Two files are written from a results file (or an ensemble):

- ``submission.pt``: the *list format* of the official C1 tools
  (``epic-kitchens/C1-Action-Recognition``: ``evaluate.py``,
  ``create_submission.py``, ``utils/results.py``), ``torch.save`` of
  ``[{'narration_id': str, 'verb_output': [97], 'noun_output': [300]}, ...]``.
  The outputs are float64 ``torch.Tensor`` s: ``utils/results.py`` turns the
  list into arrays with ``np.array``, and unlike numpy arrays tensors load with
  ``torch.load``'s ``weights_only=True`` default of torch >= 2.6.
- ``test.zip``: what ``create_submission.py`` makes of it for the leaderboard,
  a zip holding ``test.json`` = ``{"version": "0.2", "challenge":
  "action_recognition", "sls_pt", "sls_tl", "sls_td", "results":
  {narration_id: {"verb": {"0": score, ...}, "noun": {...}}}}``.

The scores are **log-probabilities** (see :mod:`.scores`): the scorer softmaxes
them, so ranks and action scores are exactly those of our own metric. float64
keeps them exact (JSON writes float64 anyway), so the leaderboard ranks as
:func:`~epic_mmaction.evaluation.compute_epic_metrics` does on the results.

Everything is validated before anything is written; outputs are never
overwritten without ``force``. :func:`export_submission` writes both files to
temporaries and renames them into place together
(:func:`~epic_mmaction.utils.fileio.atomic_outputs`), so a run killed at any
point (time limit, OOM, ``scancel``) leaves the previous pair or the new one,
never a new ``submission.pt`` beside an old zip; the next run removes the
temporaries a killed one left.
"""
import json
import os.path as osp
import pickle
import zipfile
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..annotations.records import read_narrations
from ..results.epic_results import (EPIC100_NUM_NOUNS, EPIC100_NUM_VERBS, UNLABELLED,
                                    EpicResults, ResultsFileError, load_results)
from ..utils import EpicError
from ..utils.fileio import atomic_outputs, remove_stale_temps
from .scores import log_probabilities, softmax_rows

__all__ = [
    'NUM_VERBS', 'NUM_NOUNS', 'SUBMISSION_VERSION', 'CHALLENGE', 'JSON_NAME',
    'SLS_LEVELS', 'SubmissionError', 'Submission', 'read_split_ids',
    'check_against_split', 'to_submission', 'write_submission_pt',
    'write_leaderboard_zip', 'export_submission', 'read_submission',
    'results_from_submission', 'load_submission', 'load_any'
]

NUM_VERBS = EPIC100_NUM_VERBS
NUM_NOUNS = EPIC100_NUM_NOUNS
SUBMISSION_VERSION = '0.2'
CHALLENGE = 'action_recognition'
JSON_NAME = 'test.json'
SLS_LEVELS = tuple(range(6))  # supervision levels 0..5, github.com/epic-kitchens/sls
ZIP_COMPRESSLEVEL = 1  # 2x faster than level 5 for a ~8 % larger zip
_SHOW = 5  # offending ids named in a message
_CHUNK = 256  # narrations per write of test.json


class SubmissionError(EpicError, ValueError):
    """A submission that cannot be written or read; names the file and the ids."""


@dataclass(frozen=True)
class Submission:
    """The scores of a submission: ids ``[N]``, log-probabilities ``[N, C]``."""
    narration_id: np.ndarray
    verb_output: np.ndarray
    noun_output: np.ndarray

    def __len__(self) -> int:
        return len(self.narration_id)


def _ids(values: Sequence) -> str:
    return str([str(value) for value in list(values)[:_SHOW]])


def read_split_ids(csv_path: str) -> np.ndarray:
    """The narration ids of an official split CSV, in file order."""
    ids = np.array([row.narration_id for row in read_narrations(csv_path)], dtype=str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise SubmissionError(f'{csv_path}: {len(dup)} duplicate narration ids, e.g. '
                              f'{_ids(dup)}')
    if not len(ids):
        raise SubmissionError(f'{csv_path}: no narrations')
    return ids


def _check_scores(results: EpicResults, where: str, num_verbs: Optional[int] = None,
                  num_nouns: Optional[int] = None) -> None:
    """Shapes, class counts, finite probabilities (the checks evaluation shares)."""
    n = len(results.narration_id)
    for key in ('verb_score', 'noun_score'):
        scores = np.asarray(getattr(results, key))
        if scores.ndim != 2 or len(scores) != n:
            raise SubmissionError(f'{where}: {key} must be [{n}, classes], got '
                                  f'{scores.shape}')
        bad = ~np.isfinite(scores).all(axis=1)
        if bad.any():
            raise SubmissionError(f'{where}: {key} of {int(bad.sum())} narrations is not '
                                  f'finite (NaN/inf), e.g. '
                                  f'{_ids(results.narration_id[bad])}')
    if n == 0:
        raise SubmissionError(f'{where}: no narrations')
    try:
        results.check_scores(where, num_verbs, num_nouns)
    except ResultsFileError as e:
        raise SubmissionError(str(e)) from None


def check_against_split(results: EpicResults, split_ids: Sequence[str],
                        num_verbs: int = NUM_VERBS, num_nouns: int = NUM_NOUNS,
                        where: str = 'results', split: str = 'the split') -> EpicResults:
    """Check that ``results`` is a complete submission for a split.

    Every narration id of the split must be there exactly once, with no
    others, and scores must be finite probabilities over ``num_verbs`` verbs and
    ``num_nouns`` nouns.

    Returns:
        EpicResults: ``results`` in the order of ``split_ids``.

    Raises:
        SubmissionError: naming ``where``, the count and the first ids at fault.
    """
    _check_scores(results, where, num_verbs, num_nouns)
    ids = np.asarray(results.narration_id).astype(str)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = uniq[counts > 1]
        raise SubmissionError(f'{where}: {len(dup)} narration ids appear more than once, '
                              f'e.g. {_ids(dup)}')
    position = {nid: i for i, nid in enumerate(ids.tolist())}
    wanted = [str(nid) for nid in split_ids]
    missing = [nid for nid in wanted if nid not in position]
    if missing:
        raise SubmissionError(f'{where}: {len(missing)} of the {len(wanted)} narration '
                              f'ids of {split} are missing, e.g. {_ids(missing)}')
    if len(ids) != len(wanted):
        known = set(wanted)
        extra = [nid for nid in ids.tolist() if nid not in known]
        raise SubmissionError(f'{where}: {len(extra)} narration ids are not in {split}, '
                              f'e.g. {_ids(extra)}')
    order = np.array([position[nid] for nid in wanted], dtype=np.int64)
    return results.take(order)


def to_submission(results: EpicResults, where: str = 'results') -> Submission:
    """The submission scores of ``results``: float64 log-probabilities."""
    _check_scores(results, where)
    return Submission(narration_id=np.asarray(results.narration_id).astype(str),
                      verb_output=log_probabilities(results.verb_score),
                      noun_output=log_probabilities(results.noun_score))


def _check_sls(sls: Mapping[str, Any]) -> Dict[str, int]:
    for name, level in sls.items():
        if (isinstance(level, bool) or not isinstance(level, (int, np.integer))
                or int(level) not in SLS_LEVELS):
            raise SubmissionError(f'{name} must be an integer in 0..5, got {level!r} '
                                  '(see https://github.com/epic-kitchens/sls)')
    return {name: int(level) for name, level in sls.items()}


def _refuse_existing(paths: Sequence[str], force: bool) -> None:
    for path in paths:
        if osp.isdir(path):
            raise SubmissionError(f'{path} is a directory, not a file')
        if osp.exists(path) and not force:
            raise SubmissionError(f'{path} already exists, use --force (force=True) to '
                                  'overwrite it')


def _save_pt(path: str, submission: Submission) -> None:
    import torch  # only here and in _read_pt: the checks and the zip need none

    # rows (views) of one [N, C] tensor: one storage, not N; smaller, faster to load
    verbs = torch.from_numpy(np.ascontiguousarray(submission.verb_output))
    nouns = torch.from_numpy(np.ascontiguousarray(submission.noun_output))
    entries = [{'narration_id': nid, 'verb_output': verbs[i], 'noun_output': nouns[i]}
               for i, nid in enumerate(submission.narration_id.tolist())]
    with open(path, 'wb') as f:
        torch.save(entries, f)


def write_submission_pt(path: str, results: EpicResults,
                        force: bool = False) -> Submission:
    """Write the official list format with ``torch.save`` (see module docstring)."""
    submission = to_submission(results, where=path)
    _refuse_existing([path], force)
    with atomic_outputs([path]) as (tmp, ):
        _save_pt(tmp, submission)
    return submission


def _json_chunks(submission: Submission, sls: Dict[str, int]):
    header = json.dumps({'version': SUBMISSION_VERSION, 'challenge': CHALLENGE, **sls,
                         'results': {}})
    yield header[:-2]  # ..."results": {
    verb_keys = [str(i) for i in range(submission.verb_output.shape[1])]
    noun_keys = [str(i) for i in range(submission.noun_output.shape[1])]
    for start in range(0, len(submission), _CHUNK):
        rows = slice(start, start + _CHUNK)
        parts = [f'{json.dumps(nid)}: ' + json.dumps(
                     {'verb': dict(zip(verb_keys, verb)),
                      'noun': dict(zip(noun_keys, noun))}, allow_nan=False)
                 for nid, verb, noun in zip(submission.narration_id[rows].tolist(),
                                            submission.verb_output[rows].tolist(),
                                            submission.noun_output[rows].tolist())]
        yield (', ' if start else '') + ', '.join(parts)
    yield '}}'


def write_leaderboard_zip(path: str, results: EpicResults, sls_pt: int = 2,
                          sls_tl: int = 3, sls_td: int = 4,
                          force: bool = False) -> Submission:
    """Write the leaderboard zip (``test.json``, see module docstring).

    ``sls_*`` are the supervision levels of the submission (0..5): pretraining,
    training labels, training data; the defaults are those of the official
    ``create_submission.py``.
    """
    sls = _check_sls(dict(sls_pt=sls_pt, sls_tl=sls_tl, sls_td=sls_td))
    submission = to_submission(results, where=path)
    _refuse_existing([path], force)
    with atomic_outputs([path]) as (tmp, ):
        _save_zip(tmp, submission, sls)
    return submission


def _save_zip(path: str, submission: Submission, sls: Dict[str, int]) -> None:
    with zipfile.ZipFile(path, 'w', compression=zipfile.ZIP_DEFLATED,
                         compresslevel=ZIP_COMPRESSLEVEL) as zf:
        with zf.open(JSON_NAME, 'w') as member:
            for chunk in _json_chunks(submission, sls):
                member.write(chunk.encode('utf-8'))


def export_submission(out_dir: str, results: EpicResults, split_ids: Sequence[str], *,
                      pt_name: str = 'submission.pt', zip_name: str = 'test.zip',
                      sls_pt: int = 2, sls_tl: int = 3, sls_td: int = 4,
                      num_verbs: int = NUM_VERBS, num_nouns: int = NUM_NOUNS,
                      force: bool = False, where: str = 'results',
                      split: str = 'the split') -> Dict[str, str]:
    """Check ``results`` against the split, then write both submission files.

    Nothing is written unless every check passes, including that neither
    output exists (unless ``force``). Both files appear together or not at all
    (see the module docstring). Returns ``{'pt': path, 'zip': path}``.
    """
    sls = _check_sls(dict(sls_pt=sls_pt, sls_tl=sls_tl, sls_td=sls_td))
    if not zip_name.endswith('.zip') or osp.basename(zip_name) != zip_name:
        raise SubmissionError(f'the zip name must be a file name ending in .zip, got '
                              f'{zip_name!r}')
    paths = {'pt': osp.join(out_dir, pt_name), 'zip': osp.join(out_dir, zip_name)}
    ordered = check_against_split(results, split_ids, num_verbs, num_nouns, where=where,
                                  split=split)
    submission = to_submission(ordered, where=where)
    for path in paths.values():  # also when refused below: a killed run's leftovers
        remove_stale_temps(path)
    _refuse_existing(list(paths.values()), force)
    with atomic_outputs([paths['pt'], paths['zip']]) as (tmp_pt, tmp_zip):
        _save_pt(tmp_pt, submission)
        _save_zip(tmp_zip, submission, sls)
    return paths


# --- reading back -----------------------------------------------------------------


def _as_array(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _stack(rows: Sequence) -> np.ndarray:
    if len(rows) and all(hasattr(r, 'detach') for r in rows):
        import torch
        return torch.stack([r.detach().cpu() for r in rows]).numpy().astype(np.float64)
    return np.asarray([_as_array(r) for r in rows], dtype=np.float64)


def _from_columns(path: str, ids: Sequence, verbs: Sequence,
                  nouns: Sequence) -> Submission:
    try:
        verb_output = _stack(verbs)
        noun_output = _stack(nouns)
    except (TypeError, ValueError) as e:
        raise SubmissionError(f'{path}: verb/noun outputs are not arrays of one length '
                              f'({e})') from None
    ids = np.asarray([str(nid) for nid in ids], dtype=str)
    submission = Submission(ids, verb_output, noun_output)
    # the same checks as for results: shapes, finite, unique ids
    for key in ('verb_output', 'noun_output'):
        value = getattr(submission, key)
        if value.ndim != 2 or len(value) != len(ids):
            raise SubmissionError(f'{path}: {key} must be [{len(ids)}, classes], got '
                                  f'{value.shape}')
        bad = ~np.isfinite(value).all(axis=1)
        if bad.any():
            raise SubmissionError(f'{path}: {key} of {int(bad.sum())} narrations is not '
                                  f'finite, e.g. {_ids(ids[bad])}')
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise SubmissionError(f'{path}: {int((counts > 1).sum())} narration ids appear '
                              f'more than once, e.g. {_ids(uniq[counts > 1])}')
    if not len(ids):
        raise SubmissionError(f'{path}: no narrations')
    return submission


def _read_pt(path: str) -> Submission:
    import torch

    try:
        data = torch.load(path, map_location='cpu', weights_only=True)
    except OSError as e:
        raise SubmissionError(f'cannot read {path}: {e.strerror or e}') from e
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SubmissionError(f'{path}: not a submission torch.load(weights_only=True) '
                              f'can read ({first})') from None
    keys = ('narration_id', 'verb_output', 'noun_output')
    if isinstance(data, Mapping):  # the official dict format
        missing = [k for k in keys if k not in data]
        if missing:
            raise SubmissionError(f'{path}: the dict lacks {missing}')
        return _from_columns(path, _as_array(data['narration_id']).tolist(),
                             _as_array(data['verb_output']),
                             _as_array(data['noun_output']))
    if isinstance(data, (list, tuple)):  # the official list format
        for i, entry in enumerate(data):
            if not isinstance(entry, Mapping) or any(k not in entry for k in keys):
                raise SubmissionError(f'{path}: entry {i} is not a dict with keys '
                                      f'{list(keys)}')
        return _from_columns(path, [e['narration_id'] for e in data],
                             [e['verb_output'] for e in data],
                             [e['noun_output'] for e in data])
    raise SubmissionError(f'{path}: expected a list of dicts or a dict of arrays, got '
                          f'{type(data).__name__}')


def _read_zip(path: str) -> Submission:
    try:
        with zipfile.ZipFile(path) as zf:
            if JSON_NAME not in zf.namelist():
                raise SubmissionError(f'{path}: no {JSON_NAME} in the zip (has '
                                      f'{zf.namelist()[:_SHOW]})')
            with zf.open(JSON_NAME) as member:
                data = json.load(member)
    except OSError as e:
        raise SubmissionError(f'cannot read {path}: {e.strerror or e}') from e
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SubmissionError(f'{path}: not a leaderboard zip ({e})') from None
    if not isinstance(data, dict) or not isinstance(data.get('results'), dict):
        raise SubmissionError(f'{path}: {JSON_NAME} has no "results" object')
    for key, expected in (('version', SUBMISSION_VERSION), ('challenge', CHALLENGE)):
        if data.get(key) != expected:
            raise SubmissionError(f'{path}: {JSON_NAME} {key} is {data.get(key)!r}, '
                                  f'expected {expected!r}')
    _check_sls({k: data.get(k) for k in ('sls_pt', 'sls_tl', 'sls_td')})
    ids, verbs, nouns = [], [], []
    key_lists: Dict[int, List[str]] = {}
    for nid, entry in data['results'].items():
        if not isinstance(entry, dict) or set(entry) != {'verb', 'noun'}:
            raise SubmissionError(f'{path}: results[{nid!r}] must have exactly "verb" '
                                  'and "noun"')
        for task, out in (('verb', verbs), ('noun', nouns)):
            scores = entry[task]
            if not isinstance(scores, dict) or list(scores) != key_lists.setdefault(
                    len(scores), [str(i) for i in range(len(scores))]):
                raise SubmissionError(f'{path}: results[{nid!r}][{task!r}] must map '
                                      '"0", "1", ... (in order) to scores')
            out.append(list(scores.values()))
        ids.append(nid)
    return _from_columns(path, ids, verbs, nouns)


def read_submission(path: str) -> Submission:
    """The scores of a ``submission.pt`` (list or dict format) or leaderboard zip."""
    if str(path).endswith('.zip'):
        return _read_zip(path)
    return _read_pt(path)


def results_from_submission(submission: Submission, where: str = 'submission'
                            ) -> EpicResults:
    """Submission scores as results: softmaxed, participant from the id, no labels.

    The softmax undoes :func:`to_submission` (to float64 rounding), so evaluating
    the results of a submission ranks as evaluating the submission itself.
    """
    n = len(submission)
    results = EpicResults(
        narration_id=submission.narration_id,
        participant_id=np.array([nid.split('_')[0] for nid in submission.narration_id],
                                dtype=str),
        verb_score=softmax_rows(submission.verb_output),
        noun_score=softmax_rows(submission.noun_output),
        verb_label=np.full(n, UNLABELLED, dtype=np.int64),
        noun_label=np.full(n, UNLABELLED, dtype=np.int64))
    results.validate(where)
    return results


def load_submission(path: str) -> EpicResults:
    """Read a ``submission.pt`` or leaderboard zip as (unlabelled) results."""
    return results_from_submission(read_submission(path), where=path)


def load_any(path: str, num_verbs: Optional[int] = None,
             num_nouns: Optional[int] = None) -> EpicResults:
    """A results ``.npz``, a ``submission.pt`` (``.pt``/``.pth``) or a leaderboard zip.

    Checked as every consumer of scores needs, naming ``path``: probabilities
    (not logits), and ``num_verbs``/``num_nouns`` classes where given.
    """
    suffix = osp.splitext(str(path))[1].lower()
    if suffix == '.npz':
        results = load_results(path)
    elif suffix in ('.pt', '.pth', '.zip'):
        results = load_submission(path)
    else:
        raise ResultsFileError(f'{path}: expected a results .npz, a submission .pt or a '
                               'leaderboard .zip')
    results.check_scores(path, num_verbs, num_nouns)
    return results
