"""Verb, noun or class confusion matrices: counts, CSV, and a readable top-N plot.

EPIC has 97 verbs and 300 nouns with a long tail; a full 300x300 plot is
unreadable, so the plot keeps the N most frequent ground-truth classes and
gathers predictions of every other class into an ``other`` column (rows then
still sum to each class's support).
"""
import csv
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ..utils.fileio import atomic_write
from ._figure import new_figure, save_png

__all__ = ['confusion_matrix', 'top_classes', 'top_n_view', 'plot_confusion',
           'write_confusion_csv']

OTHER = 'other'


def _check_names(class_names: Sequence[str], num_classes: int) -> None:
    if len(class_names) != num_classes:
        raise ValueError(f'{len(class_names)} class names for {num_classes} classes')


def confusion_matrix(labels: np.ndarray, preds: np.ndarray,
                     num_classes: int) -> np.ndarray:
    """``[C, C]`` int64 counts, rows = ground truth, columns = prediction.

    Segments labelled ``-1`` (unlabelled) must be removed first.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    preds = np.asarray(preds, dtype=np.int64).reshape(-1)
    if labels.shape != preds.shape:
        raise ValueError(f'{labels.size} labels but {preds.size} predictions')
    for name, value in (('labels', labels), ('predictions', preds)):
        if value.size and (value.min() < 0 or value.max() >= num_classes):
            raise ValueError(f'{name} must be in [0, {num_classes}), got '
                             f'[{value.min()}, {value.max()}]')
    flat = np.bincount(labels * num_classes + preds, minlength=num_classes ** 2)
    return flat.reshape(num_classes, num_classes).astype(np.int64)


def top_classes(matrix: np.ndarray, top_n: int) -> np.ndarray:
    """Ids of the ``top_n`` most frequent ground-truth classes (support > 0).

    Most frequent first; equal supports by class id.
    """
    if top_n < 1:
        raise ValueError(f'top_n must be >= 1, got {top_n}')
    support = np.asarray(matrix).sum(axis=1)
    order = np.lexsort((np.arange(len(support)), -support))
    return order[support[order] > 0][:top_n]


def write_confusion_csv(matrix: np.ndarray, class_names: Sequence[str], path: str) -> str:
    """The full matrix as CSV: a row per ground-truth class, a column per prediction."""
    _check_names(class_names, len(matrix))
    with atomic_write(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(['gt \\ pred', *class_names])
        for name, row in zip(class_names, np.asarray(matrix)):
            writer.writerow([name, *row.tolist()])
    return path


def top_n_view(matrix: np.ndarray, class_names: Sequence[str], top_n: int,
               normalize: bool = True) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """What :func:`plot_confusion` shows: ``(values, row_ids, column_names)``.

    Rows and columns are the :func:`top_classes`; when classes are left out,
    a last column ``other`` counts the predictions of all of them. With
    ``normalize`` each row is divided by its class's full support.
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    _check_names(class_names, len(matrix))
    keep = top_classes(matrix, top_n)
    if not len(keep):
        raise ValueError('empty confusion matrix: no labelled segments')
    support = matrix.sum(axis=1)
    shown = matrix[np.ix_(keep, keep)].astype(np.float64)
    col_names = [class_names[i] for i in keep]
    if len(keep) < len(matrix):  # predictions outside the shown classes
        other = support[keep] - shown.sum(axis=1)
        shown = np.concatenate([shown, other[:, None]], axis=1)
        col_names.append(OTHER)
    if normalize:
        shown = shown / support[keep][:, None]
    return shown, keep, col_names


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: str,
                   top_n: int = 20, normalize: bool = True,
                   title: Optional[str] = None, unit: str = 'segments') -> str:
    """Plot the top-``top_n`` ground-truth classes of ``matrix`` to a PNG.

    Args:
        matrix: ``[C, C]`` counts of :func:`confusion_matrix`.
        class_names: ``C`` names (e.g. :func:`read_classes` of the class CSV).
        path: Output ``.png``.
        top_n: Rows (and columns) kept: the most frequent ground-truth classes.
        normalize: Show each row as a fraction of the class's support
            (recall on the diagonal) instead of counts.
        title: Figure title; the shown share of segments is appended.
        unit: What a row counts, for the labels (``'clips'`` for
            single-label results).
    """
    matrix = np.asarray(matrix, dtype=np.int64)
    shown, keep, col_names = top_n_view(matrix, class_names, top_n, normalize)
    support = matrix.sum(axis=1)
    n_rows, n_cols = shown.shape
    font = 10 if n_rows <= 20 else 8 if n_rows <= 35 else 6
    cell = 0.42 if n_rows <= 35 else 0.25
    fig = new_figure(max(5.0, cell * n_cols + 3.0), max(4.0, cell * n_rows + 2.5))
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap='Blues', vmin=0, vmax=1 if normalize else None,
                      aspect='auto', interpolation='nearest')
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02,
                 label='fraction of the row' if normalize else unit)
    ax.set_xticks(range(n_cols), col_names, rotation=60, ha='right',
                  rotation_mode='anchor', fontsize=font)
    ax.set_yticks(range(n_rows), [f'{class_names[i]} ({support[i]})' for i in keep],
                  fontsize=font)
    ax.set_xlabel('predicted (top-1)', fontsize=font + 1)
    ax.set_ylabel('ground truth (support)', fontsize=font + 1)
    if n_rows <= 35:  # values in the cells
        high = np.nanmax(shown) if shown.size else 1
        for r in range(n_rows):
            for c in range(n_cols):
                value = shown[r, c]
                if value > 0:
                    text = (f'{value:.0f}' if not normalize else
                            f'{100 * value:.0f}' if value >= 0.005 else '<1')
                    ax.text(c, r, text, ha='center', va='center', fontsize=font - 2,
                            color='white' if value > 0.6 * high else 'black')
    if len(col_names) > len(keep):  # set the gathered `other` column apart
        ax.axvline(n_cols - 1.5, color='0.4', linewidth=1.5)
    share = support[keep].sum() / max(support.sum(), 1)
    detail = (f'top {len(keep)} of {int((support > 0).sum())} ground-truth classes, '
              f'{100 * share:.1f}% of {support.sum()} {unit}'
              f'{"; cells: % of the row" if normalize else ""}')
    ax.set_title(f'{title}\n{detail}' if title else detail, fontsize=font)
    return save_png(fig, path)
