"""Confusion matrices and per-class metrics, checked against hand-computed values."""
import os

import numpy as np
import pandas as pd
import pytest

from epic_mmaction.analysis import (confusion_matrix, per_class_table, plot_confusion,
                                    top_classes, top_n_view, write_confusion_csv,
                                    write_per_class_csv)

from .helpers import assert_png

NAMES = ['a', 'b', 'c', 'd', 'e']
# ground truth a a a b b c; predicted a b a b d c   (d: predicted, never true; e: neither)
LABELS = [0, 0, 0, 1, 1, 2]
PREDS = [0, 1, 0, 1, 3, 2]
MATRIX = np.array([[2, 1, 0, 0, 0],
                   [0, 1, 0, 1, 0],
                   [0, 0, 1, 0, 0],
                   [0, 0, 0, 0, 0],
                   [0, 0, 0, 0, 0]])


def test_confusion_matrix_rows_are_ground_truth():
    matrix = confusion_matrix(LABELS, PREDS, 5)
    np.testing.assert_array_equal(matrix, MATRIX)
    assert matrix.dtype == np.int64
    with pytest.raises(ValueError, match=r'labels must be in \[0, 5\)'):
        confusion_matrix([0, -1], [0, 0], 5)
    with pytest.raises(ValueError, match='2 labels but 1 predictions'):
        confusion_matrix([0, 1], [0], 5)


def test_per_class_by_hand():
    table = per_class_table(MATRIX, NAMES)
    # e has no support and no predictions: left out; most frequent first
    assert table['class'].tolist() == ['a', 'b', 'c', 'd']
    assert table['class_id'].tolist() == [0, 1, 2, 3]
    assert table['support'].tolist() == [3, 2, 1, 0]
    assert table['predicted'].tolist() == [2, 2, 1, 1]
    assert table['correct'].tolist() == [2, 1, 1, 0]
    np.testing.assert_allclose(table['precision'][:4], [1.0, 0.5, 1.0, 0.0])
    np.testing.assert_allclose(table['recall'][:3], [2 / 3, 0.5, 1.0])
    assert np.isnan(table['recall'][3])  # d was never true: recall undefined
    # F1 = 2PR/(P+R): a = 2*(1*2/3)/(5/3) = 0.8
    np.testing.assert_allclose(table['f1'], [0.8, 0.5, 1.0, 0.0])


def test_per_class_csv_round_trip(tmp_path):
    path = write_per_class_csv(per_class_table(MATRIX, NAMES), str(tmp_path / 'pc.csv'))
    back = pd.read_csv(path)
    assert list(back.columns) == ['class_id', 'class', 'support', 'predicted', 'correct',
                                  'precision', 'recall', 'f1']
    assert back['recall'].isna().tolist() == [False, False, False, True]
    assert abs(back['recall'][0] - 0.666667) < 1e-9
    assert os.listdir(tmp_path) == ['pc.csv']  # no temp file left behind


def test_top_n_view_gathers_the_rest_into_other():
    np.testing.assert_array_equal(top_classes(MATRIX, 2), [0, 1])
    np.testing.assert_array_equal(top_classes(MATRIX, 20), [0, 1, 2])  # support > 0 only
    values, rows, cols = top_n_view(MATRIX, NAMES, 2, normalize=False)
    assert rows.tolist() == [0, 1] and cols == ['a', 'b', 'other']
    np.testing.assert_array_equal(values, [[2, 1, 0], [0, 1, 1]])
    values, _, _ = top_n_view(MATRIX, NAMES, 2, normalize=True)
    np.testing.assert_allclose(values, [[2 / 3, 1 / 3, 0], [0, 0.5, 0.5]])
    values, _, cols = top_n_view(MATRIX[:3, :3], NAMES[:3], 3)
    assert cols == ['a', 'b', 'c']  # nothing left out: no other column
    with pytest.raises(ValueError, match='4 class names for 5 classes'):
        top_n_view(MATRIX, NAMES[:4], 2)


def test_equal_support_ranks_by_class_id():
    matrix = np.diag([1, 3, 1, 3])
    np.testing.assert_array_equal(top_classes(matrix, 3), [1, 3, 0])


@pytest.mark.parametrize('normalize', [True, False])
def test_plot_confusion_writes_a_png(tmp_path, normalize):
    path = plot_confusion(MATRIX, NAMES, str(tmp_path / 'out' / 'cm.png'), top_n=2,
                          normalize=normalize, title='verbs')
    assert_png(path)
    assert sorted(os.listdir(tmp_path / 'out')) == ['cm.png']


def test_plot_confusion_many_classes_stays_readable(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 300, 3000)
    preds = np.where(rng.random(3000) < 0.5, labels, rng.integers(0, 300, 3000))
    matrix = confusion_matrix(labels, preds, 300)
    image = assert_png(plot_confusion(matrix, [f'noun-{i}' for i in range(300)],
                                      str(tmp_path / 'cm.png'), top_n=20))
    assert image.shape[0] < 2000 and image.shape[1] < 2000  # 20 classes, not 300


def test_plot_confusion_empty_matrix_is_an_error(tmp_path):
    with pytest.raises(ValueError, match='no labelled segments'):
        plot_confusion(np.zeros((3, 3), int), ['a', 'b', 'c'], str(tmp_path / 'cm.png'))
    assert not os.listdir(tmp_path)


def test_confusion_csv(tmp_path):
    path = write_confusion_csv(MATRIX, NAMES, str(tmp_path / 'cm.csv'))
    lines = open(path).read().splitlines()
    assert lines[0] == 'gt \\ pred,a,b,c,d,e'
    assert lines[1] == 'a,2,1,0,0,0' and lines[2] == 'b,0,1,0,1,0'
