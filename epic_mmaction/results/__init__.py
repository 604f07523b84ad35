"""Results files (``.npz``): the format ``tools/test.py --dump`` writes and
export, ensembling, evaluation and analysis read. Torch-free.

- :mod:`.epic`: per-narration verb/noun scores (EPIC-KITCHENS-100).
- :mod:`.clips`: per-clip scores of single-label (whole-video) runs.
"""
from ..annotations.listfile import UNLABELLED
from .clip_results import (CLIP_RESULTS_FORMAT, CLIP_RESULTS_VERSION, ClipResults,
                    clip_record_from_sample, load_any_results, load_clip_results,
                    save_clip_results)
from .epic_results import (EPIC100_NUM_NOUNS, EPIC100_NUM_VERBS, RESULTS_FORMAT,
                           RESULTS_VERSION, EpicResults, ResultsFileError,
                           check_class_counts, check_probabilities, load_results,
                           record_from_sample, save_results, stack_records)

__all__ = [
    'UNLABELLED', 'RESULTS_FORMAT', 'RESULTS_VERSION', 'EpicResults', 'ResultsFileError',
    'load_results', 'record_from_sample', 'save_results', 'stack_records',
    'EPIC100_NUM_VERBS', 'EPIC100_NUM_NOUNS', 'check_class_counts', 'check_probabilities',
    'CLIP_RESULTS_FORMAT', 'CLIP_RESULTS_VERSION', 'ClipResults', 'clip_record_from_sample',
    'load_any_results', 'load_clip_results', 'save_clip_results'
]
