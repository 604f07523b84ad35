"""Leaderboard export and offline evaluation of results files.

- :mod:`.ensemble`: average results of several models/views/seeds by id.
- :mod:`.codabench`: check against a split, write ``submission.pt`` and the
  leaderboard zip, read them back.
- :mod:`.offline`: score any of these files against a ground-truth CSV.
"""
from .codabench import (CHALLENGE, JSON_NAME, NUM_NOUNS, NUM_VERBS, SLS_LEVELS,
                        SUBMISSION_VERSION, Submission, SubmissionError,
                        check_against_split, export_submission, load_any,
                        load_submission, read_split_ids, read_submission,
                        results_from_submission, to_submission,
                        write_leaderboard_zip, write_submission_pt)
from .ensemble import ENSEMBLE_MODES, EnsembleError, align_to, ensemble, normalise_weights
from .offline import (Evaluation, GroundTruth, GroundTruthError, attach_ground_truth,
                      evaluate_results, read_ground_truth)
from .scores import LOG_FLOOR, log_probabilities, softmax_rows

__all__ = [
    'CHALLENGE', 'JSON_NAME', 'NUM_NOUNS', 'NUM_VERBS', 'SLS_LEVELS',
    'SUBMISSION_VERSION', 'Submission', 'SubmissionError', 'check_against_split',
    'export_submission', 'load_any', 'load_submission', 'read_split_ids',
    'read_submission', 'results_from_submission', 'to_submission',
    'write_leaderboard_zip', 'write_submission_pt',
    'ENSEMBLE_MODES', 'EnsembleError', 'align_to', 'ensemble', 'normalise_weights',
    'Evaluation', 'GroundTruth', 'GroundTruthError', 'attach_ground_truth',
    'evaluate_results', 'read_ground_truth',
    'LOG_FLOOR', 'log_probabilities', 'softmax_rows'
]
