"""Per-clip results files of single-label runs: what ``tools/test.py --dump`` writes.

Whole-video datasets (UCF50, HRI30; ``EpicSegmentVideoDataset(
label_mode='single')``) have one class per clip and MMAction2's standard
heads, so their results differ from EPIC's verb/noun files
(:mod:`.epic`). One ``.npz`` file (loadable with ``np.load(path,
allow_pickle=False)``) holds, for N clips and C classes:

=================  ==============  ============================================
``clip_id``        str ``[N]``     unique: the file name without extension
``video``          str ``[N]``     the video path relative to the data root
``score``          float32 [N, C]  class probabilities (averaged over test clips)
``label``          int64 ``[N]``   ``-1`` where unlabelled (test videos)
``format``         str ``[]``      ``'epic_mmaction.clip_results'``
``version``        int64 ``[]``    ``CLIP_RESULTS_VERSION``
=================  ==============  ============================================

:func:`load_any_results` reads either kind, for tools that take both.
"""
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Sequence, Union

import numpy as np

from ..annotations.listfile import UNLABELLED
from .epic_results import (SCHEMAS, EpicResults, ResultsFileError, ResultsSchema,
                           check_probabilities, load_results, read_format, read_npz,
                           save_typed, stack_arrays, to_numpy, validate_arrays)

__all__ = [
    'CLIP_RESULTS_FORMAT', 'CLIP_RESULTS_VERSION', 'ClipResults',
    'clip_record_from_sample', 'save_clip_results', 'load_clip_results',
    'load_any_results'
]

CLIP_RESULTS_FORMAT = 'epic_mmaction.clip_results'
CLIP_RESULTS_VERSION = 1
CLIP_FIELDS = ('clip_id', 'video', 'score', 'label')
CLIP_SCHEMA = ResultsSchema(CLIP_RESULTS_FORMAT, CLIP_RESULTS_VERSION, 'clip_id',
                            ('clip_id', 'video'), ('score', ), ('label', ), 'clips',
                            'single-label clip results')
SCHEMAS[CLIP_RESULTS_FORMAT] = CLIP_SCHEMA
# data sample key -> where it comes from, for the error when it is missing
SAMPLE_KEYS = {
    'pred_score': 'the head (a recognizer in test mode sets it)',
    'gt_label': "the dataset's 'label' (PackActionInputs packs it)",
    'narration_id': 'PackActionInputs(meta_keys=(..., \'narration_id\', \'video_file\'))',
    'video_file': 'PackActionInputs(meta_keys=(..., \'narration_id\', \'video_file\'))',
}


def clip_record_from_sample(sample: Mapping) -> Dict[str, Any]:
    """Reduce one data sample (``ActionDataSample.to_dict()``) to a CPU record.

    Reads ``pred_score`` and ``gt_label`` (one class id, ``-1`` if unlabelled)
    and the metainfo ``narration_id`` (the clip id) and ``video_file``.
    """
    missing = [key for key in SAMPLE_KEYS if key not in sample]
    if missing:
        sources = sorted({SAMPLE_KEYS[key] for key in missing})
        raise KeyError(f'data sample lacks {missing}: add them with '
                       f'{"; ".join(sources)}')
    label = to_numpy(sample['gt_label']).reshape(-1)
    if label.size != 1:
        raise ValueError(f'{sample["narration_id"]}: gt_label must be one class id, got '
                         f'{label.size} values (multi-label results are not supported)')
    return dict(clip_id=str(sample['narration_id']), video=str(sample['video_file']),
                score=to_numpy(sample['pred_score']).astype(np.float32).reshape(-1),
                label=int(label[0]))


@dataclass(frozen=True)
class ClipResults:
    """The arrays of a clip results file (see the module docstring)."""
    clip_id: np.ndarray
    video: np.ndarray
    score: np.ndarray
    label: np.ndarray
    version: int = CLIP_RESULTS_VERSION

    def __len__(self) -> int:
        return len(self.clip_id)

    @property
    def num_classes(self) -> int:
        return self.score.shape[1]

    @property
    def labelled(self) -> np.ndarray:
        """Mask of the labelled clips."""
        return self.label != UNLABELLED

    def take(self, index: np.ndarray) -> 'ClipResults':
        """The clips at ``index`` (an order or a mask)."""
        return replace(self, **{key: getattr(self, key)[index] for key in CLIP_FIELDS})

    @classmethod
    def from_records(cls, records: Sequence[Mapping],
                     where: str = 'results') -> 'ClipResults':
        """Stack and validate records of :func:`clip_record_from_sample`."""
        try:
            arrays = stack_arrays(CLIP_SCHEMA, records)
        except ResultsFileError as e:
            raise ResultsFileError(f'{where}: {e}') from None
        results = cls(**arrays)
        results.validate(where)
        return results

    def validate(self, where: str = 'results') -> None:
        """Raise :class:`ResultsFileError` naming ``where`` if anything is off."""
        validate_arrays(CLIP_SCHEMA, {key: getattr(self, key) for key in CLIP_FIELDS},
                        where)

    def check_scores(self, where: str = 'results') -> None:
        """Raise :class:`ResultsFileError` unless the scores are probabilities."""
        check_probabilities(CLIP_SCHEMA, {key: getattr(self, key) for key in CLIP_FIELDS},
                            where)


def save_clip_results(path: str,
                      records: Union[ClipResults, Sequence[Mapping]]) -> ClipResults:
    """Validate and atomically write a clip results file; return what was written.

    Args:
        path (str): Output ``.npz`` file.
        records: A :class:`ClipResults`, or records of
            :func:`clip_record_from_sample` (one per clip).
    """
    return save_typed(ClipResults, CLIP_SCHEMA, CLIP_FIELDS, path, records)


def load_clip_results(path: str) -> ClipResults:
    """Read and validate a file written by :func:`save_clip_results`."""
    version, arrays = read_npz(CLIP_SCHEMA, path)
    return ClipResults(version=version, **arrays)


def load_any_results(path: str) -> Union[EpicResults, ClipResults]:
    """An EPIC verb/noun or a single-label results file, by its ``format``."""
    if read_format(path) == CLIP_RESULTS_FORMAT:
        return load_clip_results(path)
    return load_results(path)
