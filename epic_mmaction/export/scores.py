"""Probabilities <-> scores: what the official scorer and the leaderboard read.

Our results files hold probabilities, but the official C1 scorer (and the
Codabench leaderboard) softmaxes whatever it is given before it combines verbs
and nouns into actions, so a submission must hold *log*-probabilities (or
logits): softmaxed probabilities would flatten every action ranking.

The log and its floor for a probability of 0 are the metric's own
(:mod:`epic_mmaction.evaluation.functional`), so the offline metric ranks
exactly what the leaderboard reads.
"""
import numpy as np

from ..evaluation.functional import LOG_FLOOR, log_probabilities

__all__ = ['LOG_FLOOR', 'log_probabilities', 'softmax_rows']


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (scores -> probabilities), overflow-safe."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
