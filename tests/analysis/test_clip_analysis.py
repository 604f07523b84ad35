"""tools/analyze_results.py on single-label (per-clip) results, checked by value."""
import os

import numpy as np
import pandas as pd
import pytest

from epic_mmaction.analysis import clip_predictions_table
from epic_mmaction.results import ClipResults, save_clip_results

from ..conftest import load_tool
from .helpers import NOUNS, VERBS, assert_png, one_hot_results, save, write_classes

CLASSES = ['jump', 'run', 'swim', 'walk', 'climb', 'throw']
# equal scores rank by the lower class id
SCORES = np.array([
    [0.5, 0.2, 0.1, 0.1, 0.05, 0.05],  # jump: jump (hit)
    [0.3, 0.4, 0.1, 0.1, 0.05, 0.05],  # jump: run (miss, jump 2nd)
    [0.6, 0.1, 0.1, 0.1, 0.05, 0.05],  # jump: jump (hit)
    [0.1, 0.5, 0.1, 0.2, 0.05, 0.05],  # run: run (hit)
    [0.1, 0.0, 0.2, 0.4, 0.15, 0.15],  # run: walk (miss, run last: not in the top 5)
    [0.1, 0.1, 0.5, 0.1, 0.1, 0.1],  # swim: swim (hit)
    [0.0, 0.1, 0.1, 0.1, 0.6, 0.1],  # unlabelled: climb
], np.float32)
LABELS = [0, 0, 0, 1, 1, 2, -1]

analyze_results = load_tool('analyze_results')


def clip_results(labels=LABELS):
    n = len(labels)
    return ClipResults(clip_id=np.array([f'v_{i}' for i in range(n)]),
                       video=np.array([f'Class/v_{i}.avi' for i in range(n)]),
                       score=SCORES[:n], label=np.asarray(labels, dtype=np.int64))


def write_names(path, names):
    path.write_text(''.join(f'{name}\n' for name in names))
    return str(path)


def run(capsys, *args):
    code = analyze_results.main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_single_label_outputs(tmp_path, capsys):
    path = str(tmp_path / 'test_results.npz')
    save_clip_results(path, clip_results())
    classes = write_names(tmp_path / 'ucf_classes.txt', CLASSES)
    out_dir = tmp_path / 'analysis'
    code, out, err = run(capsys, path, '--classes', classes, '--out-dir', out_dir,
                         '--top-n', 2)
    assert code == 0, err
    assert f'7 clips of {path}: 6 labelled' in out
    assert 'skipped 1 unlabelled clips' in out
    # top-1 4/6; top-5 5/6; mean class (2/3 + 1/2 + 1) / 3
    assert 'top-1 66.67%, top-5 83.33%, mean class accuracy 72.22% (3 classes present)' in out
    assert sorted(os.listdir(out_dir)) == ['confusion.csv', 'confusion.png', 'per_class.csv',
                                           'predictions.csv']
    assert_png(out_dir / 'confusion.png')

    confusion = pd.read_csv(out_dir / 'confusion.csv', index_col=0)
    assert confusion.index.tolist() == CLASSES and confusion.columns.tolist() == CLASSES
    expected = np.zeros((6, 6), int)
    for (row, col), count in {(0, 0): 2, (0, 1): 1, (1, 1): 1, (1, 3): 1, (2, 2): 1}.items():
        expected[row, col] = count
    np.testing.assert_array_equal(confusion.to_numpy(), expected)  # no unlabelled clip

    per_class = pd.read_csv(out_dir / 'per_class.csv')
    assert per_class['class'].tolist() == ['jump', 'run', 'swim', 'walk']
    assert per_class['class_id'].tolist() == [0, 1, 2, 3]
    assert per_class['support'].tolist() == [3, 2, 1, 0]
    assert per_class['predicted'].tolist() == [2, 2, 1, 1]
    assert per_class['correct'].tolist() == [2, 1, 1, 0]
    assert per_class['precision'].tolist() == [1.0, 0.5, 1.0, 0.0]
    assert per_class['recall'].tolist()[:3] == [0.666667, 0.5, 1.0]
    assert np.isnan(per_class['recall'][3])  # walk: only predicted
    assert per_class['f1'].tolist() == [0.8, 0.5, 1.0, 0.0]

    predictions = pd.read_csv(out_dir / 'predictions.csv')
    ranks = [f'class_{r}{part}' for r in range(1, 6) for part in ('', '_id', '_score')]
    assert predictions.columns.tolist() == [
        'video', 'clip_id', 'label', 'label_name', 'predicted', 'predicted_name',
        'confidence', 'correct', *ranks]
    assert predictions['clip_id'].tolist() == [f'v_{i}' for i in range(7)]
    assert predictions['video'][0] == 'Class/v_0.avi'
    assert predictions['predicted'].tolist() == [0, 1, 0, 1, 3, 2, 4]
    assert predictions['predicted_name'].tolist() == ['jump', 'run', 'jump', 'run', 'walk',
                                                      'swim', 'climb']
    assert predictions['confidence'].tolist() == [0.5, 0.4, 0.6, 0.5, 0.4, 0.5, 0.6]
    assert predictions['correct'].tolist()[:6] == [1, 0, 1, 1, 0, 1]
    row = predictions.iloc[4]  # run, predicted walk; ties 0.15 and 0.1 by lower id
    assert (row['label'], row['label_name']) == (1, 'run')
    assert [row[f'class_{r}'] for r in range(1, 6)] == ['walk', 'swim', 'climb', 'throw',
                                                       'jump']
    assert [row[f'class_{r}_id'] for r in range(1, 6)] == [3, 2, 4, 5, 0]
    assert [row[f'class_{r}_score'] for r in range(1, 6)] == [0.4, 0.2, 0.15, 0.15, 0.1]
    row = predictions.iloc[1]
    assert [row[f'class_{r}'] for r in range(1, 6)] == ['run', 'jump', 'swim', 'walk',
                                                       'climb']
    unlabelled = pd.read_csv(out_dir / 'predictions.csv', keep_default_na=False).iloc[6]
    assert [unlabelled[c] for c in ('label', 'label_name', 'correct')] == ['', '', '']
    assert (unlabelled['predicted_name'], unlabelled['class_2']) == ('climb', 'run')


def test_top_k_and_all_unlabelled(tmp_path, capsys):
    table = clip_predictions_table(clip_results(), CLASSES, k=2)
    assert table.columns.tolist()[8:] == ['class_1', 'class_1_id', 'class_1_score',
                                          'class_2', 'class_2_id', 'class_2_score']
    with pytest.raises(ValueError, match='5 class names but the results have 6 scores'):
        clip_predictions_table(clip_results(), CLASSES[:5])

    path = str(tmp_path / 'test_results.npz')
    save_clip_results(path, clip_results([-1, -1]))
    out_dir = tmp_path / 'analysis'
    code, out, err = run(capsys, path, '--classes', write_names(tmp_path / 'c.txt', CLASSES),
                         '--out-dir', out_dir, '--top-k', 3)
    assert code == 0, err
    assert 'no labelled clips: wrote only predictions.csv' in out
    assert os.listdir(out_dir) == ['predictions.csv']
    assert pd.read_csv(out_dir / 'predictions.csv').shape == (2, 8 + 3 * 3)


def test_errors_say_which_classes_to_give(tmp_path, capsys):
    clips = str(tmp_path / 'clips.npz')
    save_clip_results(clips, clip_results())
    epic = save(tmp_path / 'epic.npz', one_hot_results([0], [0], [0], [0]))
    classes = write_names(tmp_path / 'classes.txt', CLASSES)
    verbs = write_classes(tmp_path / 'verbs.csv', VERBS)
    nouns = write_classes(tmp_path / 'nouns.csv', NOUNS)
    out_dir = tmp_path / 'o'
    error = 'analyze_results.py: error: '
    cases = [
        ([epic, '--verb-classes', verbs], f'{epic} holds EPIC verb/noun results: give '
         '--verb-classes and --noun-classes (EPIC_100_verb_classes.csv, '
         'EPIC_100_noun_classes.csv)'),
        ([epic, '--classes', classes, '--verb-classes', verbs, '--noun-classes', nouns],
         f'{epic} holds EPIC verb/noun results: give --verb-classes and --noun-classes, '
         'not --classes (which is for single-label results)'),
        ([clips], f'{clips} holds single-label clip results: give --classes FILE (one '
         "class name a line, line i = class i, e.g. the list builder's PREFIX_classes.txt)"),
        ([clips, '--verb-classes', verbs, '--noun-classes', nouns],
         f'{clips} holds single-label clip results: give --classes (one class name a '
         'line), not --verb-classes/--noun-classes (which are for EPIC results)'),
        ([clips, '--classes', classes, '--gt', verbs], f'{clips} holds single-label clip '
         'results, which carry their own labels: --gt (an EPIC narration CSV) is for EPIC '
         'results only'),
        ([clips, '--classes', write_names(tmp_path / 'five.txt', CLASSES[:5])],
         f'{tmp_path / "five.txt"} has 5 classes but {clips} has 6 scores per clip'),
    ]
    for args, message in cases:
        code, out, err = run(capsys, *args, '--out-dir', out_dir)
        assert (code, err.strip().splitlines()) == (2, [error + message])
    assert not out_dir.exists()
