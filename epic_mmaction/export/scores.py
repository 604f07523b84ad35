"""Probabilities <-> scores: what the official scorer and the leaderboard read.

Our results files hold probabilities, but the official C1 scorer (and the
Codabench leaderboard) softmaxes whatever it is given before it combines verbs
and nouns into actions, so a submission must hold *log*-probabilities (or
logits): softmaxed probabilities would flatten every action ranking.
"""
import numpy as np

__all__ = ['LOG_FLOOR', 'log_probabilities', 'softmax_rows']

#: ``log`` of the smallest normal float64: what a probability of 0 becomes.
#: Finite (JSON has no ``-Infinity``), below ``log`` of any float32 probability
#: > 0 (>= -103.3), so no ranking changes, and averages of logs stay finite.
LOG_FLOOR = float(np.log(np.finfo(np.float64).tiny))


def log_probabilities(probs: np.ndarray) -> np.ndarray:
    """``log(probs)`` in float64, with 0 mapped to :data:`LOG_FLOOR`."""
    probs = np.asarray(probs, dtype=np.float64)
    return np.log(np.maximum(probs, np.finfo(np.float64).tiny))


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (scores -> probabilities), overflow-safe."""
    scores = np.asarray(scores, dtype=np.float64)
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)
