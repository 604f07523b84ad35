"""Per-narration results files: what ``tools/test.py --dump`` writes (torch-free).

One ``.npz`` file (loadable with ``np.load(path, allow_pickle=False)``) holds,
for N segments, V verbs and Nn nouns:

=================  ==============  ============================================
``narration_id``   str ``[N]``     unique, e.g. ``'P01_11_0'``
``participant_id`` str ``[N]``     e.g. ``'P01'``
``verb_score``     float32 [N, V]  verb probabilities (averaged over test clips)
``noun_score``     float32 [N, Nn] noun probabilities
``verb_label``     int64 ``[N]``   ``-1`` where unlabelled (test split)
``noun_label``     int64 ``[N]``   ``-1`` where unlabelled
``format``         str ``[]``      ``'epic_mmaction.results'``
``version``        int64 ``[]``    ``RESULTS_VERSION``
=================  ==============  ============================================

Export to Codabench, offline evaluation and ensembling read it with
:func:`load_results`. Single-label runs write per-clip files instead
(:mod:`.clips`); :class:`ResultsSchema` lets both kinds share the
reading, writing and checks here.
"""
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ..annotations.listfile import UNLABELLED
from ..utils import EpicError
from ..utils.fileio import atomic_write

RESULTS_FORMAT = 'epic_mmaction.results'
RESULTS_VERSION = 1
ID_FIELDS = ('narration_id', 'participant_id')
SCORE_FIELDS = ('verb_score', 'noun_score')
LABEL_FIELDS = ('verb_label', 'noun_label')
FIELDS = ID_FIELDS + SCORE_FIELDS + LABEL_FIELDS
#: EPIC-KITCHENS-100's class counts: what export and evaluation expect unless
#: told otherwise (synthetic data has other counts)
EPIC100_NUM_VERBS = 97
EPIC100_NUM_NOUNS = 300
#: how far a row of probabilities may sum from 1 (float32 rounding: ~1e-5)
PROB_SUM_TOLERANCE = 1e-3
PROBABILITIES_HINT = ("results must hold softmax probabilities, as tools/test.py --dump "
                      "writes them with the head's average_clips='prob' (not logits, "
                      "average_clips='score')")


class ResultsFileError(EpicError, ValueError):
    """A results file (or the records for one) that cannot be used; names it."""


@dataclass(frozen=True)
class ResultsSchema:
    """The arrays of one kind of results file, so every kind shares the checks.

    ``label_fields[i]`` holds class ids of the scores in ``score_fields[i]``.
    """
    format: str
    version: int
    id_field: str  # unique per row
    string_fields: Tuple[str, ...]
    score_fields: Tuple[str, ...]
    label_fields: Tuple[str, ...]
    unit: str  # what a row is, for messages: 'segments', 'clips'
    what: str  # what the file holds, for messages

    @property
    def fields(self) -> Tuple[str, ...]:
        return self.string_fields + self.score_fields + self.label_fields


EPIC_SCHEMA = ResultsSchema(RESULTS_FORMAT, RESULTS_VERSION, 'narration_id', ID_FIELDS,
                            SCORE_FIELDS, LABEL_FIELDS, 'segments',
                            'EPIC verb/noun results')
#: every kind of results file by format, to name the kind a reader did not expect
SCHEMAS: Dict[str, ResultsSchema] = {RESULTS_FORMAT: EPIC_SCHEMA}


def to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, 'detach'):  # torch.Tensor, possibly on a GPU
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def record_from_sample(sample: Mapping) -> Dict[str, Any]:
    """Reduce one data sample (``ActionDataSample.to_dict()``) to a CPU record.

    Reads the fields ``verb_score``/``noun_score`` set by the verb/noun heads
    and the metainfo ``narration_id``, ``participant_id``, ``verb_label`` and
    ``noun_label`` (packed by ``PackActionInputs(meta_keys=...)``).
    """
    missing = [key for key in FIELDS if key not in sample]
    if missing:
        raise KeyError(
            f'data sample lacks {missing}: verb_score/noun_score come from a verb/noun '
            'head, the rest from PackActionInputs(meta_keys=(\'narration_id\', '
            '\'participant_id\', \'verb_label\', \'noun_label\'))')
    record = {key: str(sample[key]) for key in ID_FIELDS}
    for key in SCORE_FIELDS:
        record[key] = to_numpy(sample[key]).astype(np.float32).reshape(-1)
    for key in LABEL_FIELDS:
        record[key] = int(to_numpy(sample[key]).reshape(()))
    return record


def stack_arrays(schema: ResultsSchema,
                 records: Sequence[Mapping]) -> Dict[str, np.ndarray]:
    """Stack per-row records (dicts of ``schema.fields``) into the file's arrays."""
    if not records:
        raise ResultsFileError(f'no {schema.unit}')
    arrays = {key: np.array([r[key] for r in records], dtype=str)
              for key in schema.string_fields}
    for key in schema.score_fields:
        lengths = {len(r[key]) for r in records}
        if len(lengths) > 1:
            first = records[0]
            odd = next(r for r in records if len(r[key]) != len(first[key]))
            raise ResultsFileError(
                f'{key} of {first[schema.id_field]} has {len(first[key])} classes but '
                f'that of {odd[schema.id_field]} has {len(odd[key])}')
        arrays[key] = np.stack([r[key] for r in records]).astype(np.float32)
    for key in schema.label_fields:
        arrays[key] = np.array([r[key] for r in records], dtype=np.int64)
    return arrays


def stack_records(records: Sequence[Mapping]) -> Dict[str, np.ndarray]:
    """Stack records of :func:`record_from_sample` into the results arrays."""
    return stack_arrays(EPIC_SCHEMA, records)


def validate_arrays(schema: ResultsSchema, arrays: Mapping[str, np.ndarray],
                    where: str) -> None:
    """Raise :class:`ResultsFileError` naming ``where`` if anything is off.

    Checks dtypes and shapes, one row count, at least one row, unique ids,
    finite scores and labels ``-1`` (unlabelled) or within the scores' classes.
    """
    unit = schema.unit
    for key in schema.string_fields:
        value = arrays[key]
        if value.ndim != 1 or value.dtype.kind != 'U':
            raise ResultsFileError(f'{where}: {key} must be a 1-D string array, got '
                                   f'{value.dtype} {value.shape}')
    ids = arrays[schema.id_field]
    n = len(ids)
    for key in schema.score_fields:
        value = arrays[key]
        if value.dtype.kind != 'f' or value.ndim != 2:
            raise ResultsFileError(f'{where}: {key} must be a 2-D float array '
                                   f'[{unit}, classes], got {value.dtype} '
                                   f'{value.shape}')
    for key in schema.label_fields:
        value = arrays[key]
        if value.dtype.kind not in 'iu' or value.ndim != 1:
            raise ResultsFileError(f'{where}: {key} must be a 1-D integer array, got '
                                   f'{value.dtype} {value.shape}')
    shapes = {key: arrays[key].shape for key in schema.fields}
    if any(shape[0] != n for shape in shapes.values()):
        raise ResultsFileError(f'{where}: arrays disagree on the number of {unit}: '
                               f'{shapes}')
    if n == 0:
        raise ResultsFileError(f'{where}: no {unit}')
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = unique[counts > 1]
        what = schema.id_field.replace('_', ' ')
        raise ResultsFileError(f'{where}: {len(dup)} duplicate {what}s, e.g. '
                               f'{dup[:5].tolist()}')
    for key in schema.score_fields:
        bad = ~np.isfinite(arrays[key]).all(axis=1)
        if bad.any():
            raise ResultsFileError(
                f'{where}: {key} of {bad.sum()} {unit} is not finite (NaN/inf), '
                f'e.g. {ids[bad][:5].tolist()}')
    for key, scores in zip(schema.label_fields, schema.score_fields):
        value, num = arrays[key], arrays[scores].shape[1]
        bad = (value < UNLABELLED) | (value >= num)
        if bad.any():
            raise ResultsFileError(
                f'{where}: {key} must be -1 (unlabelled) or in [0, {num}), got '
                f'{sorted(set(value[bad].tolist()))[:5]} for e.g. '
                f'{ids[bad][:5].tolist()}')


def check_probabilities(schema: ResultsSchema, arrays: Mapping[str, np.ndarray],
                        where: str) -> None:
    """Raise :class:`ResultsFileError` unless every score row is a distribution.

    Logits (``average_clips='score'``) rank verbs and nouns as well, but an
    action score multiplies verb and noun probabilities, and export takes their
    logs, so both would be silently wrong. Finite scores are assumed
    (:func:`validate_arrays`).
    """
    ids = arrays[schema.id_field]
    for key in schema.score_fields:
        scores = np.asarray(arrays[key], dtype=np.float64)
        sums = scores.sum(axis=1)
        bad = (scores < 0).any(axis=1) | ~(np.abs(sums - 1) <= PROB_SUM_TOLERANCE)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ResultsFileError(
                f'{where}: {key} of {int(bad.sum())} {schema.unit} is not a probability '
                f'distribution (e.g. {ids[i]}: min {scores[i].min():.4g}, sum '
                f'{sums[i]:.4g}); {PROBABILITIES_HINT}')


def check_class_counts(results: 'EpicResults', where: str,
                       num_verbs: Optional[int] = EPIC100_NUM_VERBS,
                       num_nouns: Optional[int] = EPIC100_NUM_NOUNS) -> None:
    """Raise :class:`ResultsFileError` unless the scores have these class counts.

    A results file of a model with another head (e.g. 96 verbs) scores and
    exports without complaint but compares with nothing; ``None`` skips a count.
    """
    for key, num, flag in (('verb_score', num_verbs, '--num-verbs'),
                           ('noun_score', num_nouns, '--num-nouns')):
        have = np.shape(getattr(results, key))[-1]
        if num is not None and have != num:
            raise ResultsFileError(
                f'{where}: {key} has {have} classes, expected {num} (EPIC-KITCHENS-100 '
                f'has {EPIC100_NUM_VERBS} verbs and {EPIC100_NUM_NOUNS} nouns; give '
                f'{flag} for other data)')


def write_npz(schema: ResultsSchema, path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Atomically write validated ``arrays`` with the schema's format and version."""
    arrays = {key: arrays[key] for key in schema.fields}
    for key in schema.score_fields:
        arrays[key] = arrays[key].astype(np.float32)
    with atomic_write(path, 'wb') as f:
        np.savez(f, format=np.array(schema.format),
                 version=np.array(schema.version, dtype=np.int64), **arrays)


def _open_npz(path: str) -> np.lib.npyio.NpzFile:
    try:
        npz = np.load(path, allow_pickle=False)
    except OSError as e:
        raise ResultsFileError(f'cannot read results file {path}: '
                               f'{e.strerror or e}') from e
    except ValueError as e:
        raise ResultsFileError(f'{path}: not an epic_mmaction results file ({e})') from e
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ResultsFileError(f'{path}: not an epic_mmaction results file (a single '
                               'array, not an .npz archive)')
    return npz


def _read_format(npz: np.lib.npyio.NpzFile, path: str) -> Optional[str]:
    try:
        return str(npz['format']) if 'format' in npz.files else None
    except (KeyError, TypeError, ValueError) as e:  # e.g. an object array
        raise ResultsFileError(f'{path}: unreadable results file ({e})') from e


def read_format(path: str) -> str:
    """The ``format`` of a results file, to pick its reader; raises if unknown."""
    with _open_npz(path) as npz:
        fmt = _read_format(npz, path)
    if fmt not in SCHEMAS:
        raise ResultsFileError(f'{path}: not an epic_mmaction results file '
                               f'(format {fmt!r})')
    return fmt


def read_npz(schema: ResultsSchema, path: str) -> Tuple[int, Dict[str, np.ndarray]]:
    """``(version, arrays)`` of a results file of ``schema``'s format, validated."""
    with _open_npz(path) as npz:
        fmt = _read_format(npz, path)
        if fmt != schema.format:
            other = SCHEMAS.get(fmt)
            if other is None:
                raise ResultsFileError(f'{path}: not an epic_mmaction results file '
                                       f'(format {fmt!r})')
            raise ResultsFileError(f'{path}: holds {other.what} (format {fmt!r}), not '
                                   f'{schema.what}')
        try:
            version = int(npz['version'])
            missing = [key for key in schema.fields if key not in npz.files]
            arrays = {key: npz[key] for key in schema.fields if key in npz.files}
        except (KeyError, TypeError, ValueError) as e:
            # e.g. object arrays, which allow_pickle=False refuses
            raise ResultsFileError(f'{path}: unreadable results file ({e})') from e
    if version != schema.version:
        raise ResultsFileError(f'{path}: results format version {version}, this '
                               f'epic_mmaction reads version {schema.version}')
    if missing:
        raise ResultsFileError(f'{path}: missing arrays {missing}')
    validate_arrays(schema, arrays, path)
    for key in schema.score_fields:
        arrays[key] = arrays[key].astype(np.float32, copy=False)
    for key in schema.label_fields:
        arrays[key] = arrays[key].astype(np.int64, copy=False)
    return version, arrays


@dataclass(frozen=True)
class EpicResults:
    """The arrays of a results file (see the module docstring)."""
    narration_id: np.ndarray
    participant_id: np.ndarray
    verb_score: np.ndarray
    noun_score: np.ndarray
    verb_label: np.ndarray
    noun_label: np.ndarray
    version: int = RESULTS_VERSION

    def __len__(self) -> int:
        return len(self.narration_id)

    @property
    def num_verbs(self) -> int:
        return self.verb_score.shape[1]

    @property
    def num_nouns(self) -> int:
        return self.noun_score.shape[1]

    def take(self, index: np.ndarray) -> 'EpicResults':
        """The segments at ``index`` (an order or a mask), e.g. aligned to a split."""
        return replace(self, **{key: getattr(self, key)[index] for key in FIELDS})

    @property
    def labelled(self) -> np.ndarray:
        """Mask of the segments with both a verb and a noun label."""
        return (self.verb_label != UNLABELLED) & (self.noun_label != UNLABELLED)

    @classmethod
    def from_records(cls, records: Sequence[Mapping],
                     where: str = 'results') -> 'EpicResults':
        """Stack and validate records of :func:`record_from_sample`."""
        try:
            arrays = stack_records(records)
        except ResultsFileError as e:
            raise ResultsFileError(f'{where}: {e}') from None
        results = cls(**arrays)
        results.validate(where)
        return results

    def validate(self, where: str = 'results') -> None:
        """Raise :class:`ResultsFileError` naming ``where`` if anything is off."""
        validate_arrays(EPIC_SCHEMA, {key: getattr(self, key) for key in FIELDS}, where)

    def check_scores(self, where: str = 'results',
                     num_verbs: Optional[int] = None,
                     num_nouns: Optional[int] = None) -> None:
        """What every consumer of scores needs: class counts (where given) and
        probabilities (:func:`check_class_counts`, :func:`check_probabilities`)."""
        check_class_counts(self, where, num_verbs, num_nouns)
        check_probabilities(EPIC_SCHEMA, {key: getattr(self, key) for key in FIELDS},
                            where)


def save_typed(kind: type, schema: ResultsSchema, fields: Sequence[str], path: str,
               records: Union[Any, Sequence[Mapping]]) -> Any:
    """Validate ``records`` (a ``kind`` or its records) and write them atomically."""
    if not str(path).endswith('.npz'):
        raise ValueError(f'results files are .npz, got {path}')
    if isinstance(records, kind):
        results = records
        results.validate(path)
    else:
        results = kind.from_records(records, where=path)
    write_npz(schema, path, {key: getattr(results, key) for key in fields})
    return results


def save_results(path: str,
                 records: Union[EpicResults, Sequence[Mapping]]) -> EpicResults:
    """Validate and atomically write a results file; return what was written.

    Args:
        path (str): Output ``.npz`` file.
        records: An :class:`EpicResults`, or records of
            :func:`record_from_sample` (one per segment).
    """
    return save_typed(EpicResults, EPIC_SCHEMA, FIELDS, path, records)


def load_results(path: str) -> EpicResults:
    """Read and validate a results file written by :func:`save_results`."""
    version, arrays = read_npz(EPIC_SCHEMA, path)
    return EpicResults(version=version, **arrays)
