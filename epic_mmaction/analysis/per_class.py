"""Per-class precision, recall, F1 and support of top-1 predictions, as CSV.

Tells which verbs/nouns a model gets right, which it over-predicts
(low precision) and which it misses (low recall), with how many examples
each had. Classes neither present nor predicted are left out; a class only
predicted (support 0) is kept, with an empty recall.
"""
from typing import Sequence

import numpy as np
import pandas as pd

from ..utils.fileio import atomic_write

__all__ = ['COLUMNS', 'per_class_table', 'write_per_class_csv']

COLUMNS = ('class_id', 'class', 'support', 'predicted', 'correct', 'precision',
           'recall', 'f1')


def per_class_table(matrix: np.ndarray, class_names: Sequence[str]) -> pd.DataFrame:
    """One row per class with support or predictions, most frequent first.

    Args:
        matrix: ``[C, C]`` counts of :func:`~.confusion.confusion_matrix`
            (rows = ground truth).
        class_names: ``C`` class names.

    ``precision = correct / predicted`` (NaN if never predicted),
    ``recall = correct / support`` (NaN if support is 0),
    ``f1 = 2 * correct / (support + predicted)`` (the harmonic mean of the
    two, and 0 when either is 0 or undefined).
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    if len(class_names) != len(matrix):
        raise ValueError(f'{len(class_names)} class names for {len(matrix)} classes')
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    correct = np.diag(matrix)
    with np.errstate(divide='ignore', invalid='ignore'):
        precision = np.where(predicted > 0, correct / np.maximum(predicted, 1), np.nan)
        recall = np.where(support > 0, correct / np.maximum(support, 1), np.nan)
        f1 = 2 * correct / np.maximum(support + predicted, 1)
    table = pd.DataFrame({
        'class_id': np.arange(len(matrix)), 'class': list(class_names),
        'support': support, 'predicted': predicted, 'correct': correct,
        'precision': precision, 'recall': recall, 'f1': f1})
    table = table[(support > 0) | (predicted > 0)]
    return table.sort_values(['support', 'class_id'], ascending=[False, True],
                             kind='stable').reset_index(drop=True)


def write_per_class_csv(table: pd.DataFrame, path: str) -> str:
    """Write :func:`per_class_table` (floats to 6 places, NaN as empty)."""
    with atomic_write(path, 'w', newline='', encoding='utf-8') as f:
        table.to_csv(f, index=False, float_format='%.6f', na_rep='')
    return path
