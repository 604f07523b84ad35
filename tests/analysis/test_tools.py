"""tools/analyze_results.py and tools/plot_curves.py, each run in its own process."""
import os

import pandas as pd

from .. import toolrun
from .helpers import (NOUNS, REAL_LINES, VERBS, assert_png, one_hot_results, save,
                      write_classes, write_gt, write_run)


def tool(name, *args):
    return toolrun.run_tool(name, *args, timeout=300)


def test_analyze_results(tmp_path):
    # 6 labelled by the file, P01_01_6 labelled by the GT CSV, P01_01_7 by neither
    results = one_hot_results(verb_label=[0, 0, 0, 1, 1, 2, -1, -1],
                              noun_label=[0, 0, 0, 1, 1, 2, -1, -1],
                              verb_pred=[0, 1, 0, 1, 3, 2, 4, 5],
                              noun_pred=[0, 0, 0, 0, 0, 0, 4, 5])
    path = save(tmp_path / 'val_results.npz', results)
    gt = write_gt(tmp_path / 'gt.csv', [('P01_01_6', 4, 4), ('P01_01_0', 0, 0)])
    verbs = write_classes(tmp_path / 'verbs.csv', VERBS)
    nouns = write_classes(tmp_path / 'nouns.csv', NOUNS)
    out_dir = tmp_path / 'analysis'
    out = tool('analyze_results.py', path, '--gt', gt, '--verb-classes', verbs,
               '--noun-classes', nouns, '--out-dir', out_dir, '--top-n', 3)
    assert out.returncode == 0, out.stderr
    assert '8 segments' in out.stdout
    assert '7 labelled (6 by the results file, 1 by' in out.stdout
    assert 'skipped 1 unlabelled segments' in out.stdout
    assert 'verb top-1 71.43%' in out.stdout  # 5 of 7
    assert sorted(os.listdir(out_dir)) == [
        'noun_confusion.csv', 'noun_confusion.png', 'noun_per_class.csv', 'predictions.csv',
        'verb_confusion.csv', 'verb_confusion.png', 'verb_per_class.csv']
    assert_png(out_dir / 'verb_confusion.png')
    assert_png(out_dir / 'noun_confusion.png')
    verb = pd.read_csv(out_dir / 'verb_per_class.csv')
    # the hand case of test_confusion_per_class plus wash -> wash from the GT CSV
    assert verb['class'].tolist() == ['take', 'put', 'open', 'wash', 'close']
    assert verb['recall'].tolist()[:4] == [0.666667, 0.5, 1.0, 1.0]
    confusion = pd.read_csv(out_dir / 'verb_confusion.csv', index_col=0)
    assert confusion.to_numpy().sum() == 7 and confusion.loc['take', 'put'] == 1
    predictions = pd.read_csv(out_dir / 'predictions.csv', keep_default_na=False)
    assert len(predictions) == 8 and predictions['gt_verb'].tolist()[6:] == ['wash', '']
    assert predictions['verb_1'].tolist() == ['take', 'put', 'take', 'put', 'close',
                                              'open', 'wash', 'cut']
    assert predictions['verb_1_score'].tolist() == [0.9] * 8


def test_analyze_results_bad_input(tmp_path):
    path = save(tmp_path / 'r.npz', one_hot_results([0], [0], [0], [0]))
    verbs = write_classes(tmp_path / 'verbs.csv', VERBS[:5])
    out = tool('analyze_results.py', path, '--verb-classes', verbs, '--noun-classes',
               write_classes(tmp_path / 'nouns.csv', NOUNS), '--out-dir', tmp_path / 'o')
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f'analyze_results.py: error: {verbs} has 5 verb classes but {path} has 6 verb '
        'scores per segment']
    assert not (tmp_path / 'o').exists()


def test_plot_curves(tmp_path):
    work = tmp_path / 'work'
    write_run(work, '20261123_134711', REAL_LINES)
    out = tool('plot_curves.py', work)
    assert out.returncode == 0, out.stderr
    assert '10 training and 2 validation entries from 1 run(s)' in out.stdout
    assert_png(work / 'curves.png')

    (tmp_path / 'empty').mkdir()
    out = tool('plot_curves.py', tmp_path / 'empty', '--out', tmp_path / 'c.png')
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f'plot_curves.py: error: {tmp_path / "empty"}: no training logs (no '
        '<timestamp>/vis_data/scalars.json); is it the --work-dir of tools/train.py, and '
        'did a run log at least one iteration?']
    assert not (tmp_path / 'c.png').exists()
