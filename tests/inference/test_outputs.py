"""Top-k columns, class names, the windows CSV and the annotated MP4 writer."""
import csv

import numpy as np
import pandas as pd
import pytest

from epic_mmaction.annotations.records import AnnotationError
from epic_mmaction.inference import (AnnotatedVideoWriter, ClassNames, WindowPrediction,
                                     caption_lines, load_class_names, sliding_windows,
                                     topk_columns, windows_table, write_windows_csv)

NAMES = ClassNames(['take', 'put', 'open'], ['cup', 'plate', 'knife', 'pan'])


def write_classes(path, keys):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['id', 'key', 'instances', 'category'])
        for i, key in enumerate(keys):
            w.writerow([i, key, 1, 'x'])
    return str(path)


def test_topk_columns_table():
    verb = np.array([[0.2, 0.5, 0.3]])
    noun = np.array([[0.1, 0.6, 0.1, 0.2]])
    cols = topk_columns(verb, noun, NAMES, k=3)
    assert [cols[f'verb_{r}'][0] for r in (1, 2, 3)] == ['put', 'open', 'take']
    assert [cols[f'verb_{r}_score'][0] for r in (1, 2, 3)] == [0.5, 0.3, 0.2]
    # equal nouns (cup, knife at 0.1): the lower id first
    assert [cols[f'noun_{r}'][0] for r in (1, 2, 3)] == ['plate', 'pan', 'cup']
    assert [cols[f'action_{r}'][0] for r in (1, 2, 3)] == ['put plate', 'open plate',
                                                           'take plate']
    np.testing.assert_allclose([cols[f'action_{r}_score'][0] for r in (1, 2, 3)],
                               [0.30, 0.18, 0.12])
    assert list(cols)[:2] == ['verb_1', 'verb_1_score']
    with pytest.raises(ValueError, match='names for 3/4'):
        topk_columns(np.ones((1, 4)), noun, NAMES)


def test_k_larger_than_the_classes():
    cols = topk_columns(np.full((2, 3), 1 / 3), np.full((2, 4), 0.25), NAMES, k=5)
    assert 'verb_3' in cols and 'verb_4' not in cols and 'noun_4' in cols
    assert 'action_5' in cols  # 12 actions


def test_class_names(tmp_path):
    assert load_class_names(None, None, 2, 3) == ClassNames(['verb_0', 'verb_1'],
                                                            ['noun_0', 'noun_1', 'noun_2'])
    verbs = write_classes(tmp_path / 'verbs.csv', ['take', 'put'])
    assert load_class_names(verbs, None, 2, 1).verbs == ['take', 'put']
    with pytest.raises(ValueError, match='verbs.csv has 2 verb classes but the model '
                       'predicts 97'):
        load_class_names(verbs, None, 97, 300)
    with pytest.raises(AnnotationError, match='cannot read class file'):
        load_class_names(str(tmp_path / 'missing.csv'), None, 2, 1)


def predictions(n=3, seed=0):
    rng = np.random.default_rng(seed)
    windows = sliding_windows(25 * (n + 1), 25, 2, 1)
    return [WindowPrediction(w, rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(4)),
                             np.arange(w.start_frame, w.stop_frame + 1, 6))
            for w in windows]


def test_windows_csv_round_trip(tmp_path):
    preds = predictions()
    table = windows_table(preds, NAMES, k=2)
    path = write_windows_csv(table, str(tmp_path / 'out' / 'w.csv'))
    back = pd.read_csv(path)
    assert list(back.columns[:4]) == ['start', 'end', 'start_frame', 'stop_frame']
    assert list(back.columns[4:8]) == ['verb_1', 'verb_1_score', 'verb_2', 'verb_2_score']
    assert back['start_frame'].tolist() == [p.window.start_frame for p in preds]
    assert back['end'].tolist() == pytest.approx([p.window.end for p in preds])
    assert back['verb_1_score'].tolist() == pytest.approx(
        [p.verb.max() for p in preds], abs=1e-6)
    assert not list(tmp_path.glob('out/.*'))  # no temp file left
    assert caption_lines(table, 0, 3) == [f"1. {table['action_1'][0]} "
                                          f"{table['action_1_score'][0]:.2f}",
                                          f"2. {table['action_2'][0]} "
                                          f"{table['action_2_score'][0]:.2f}"]  # k=2 only
    assert len(windows_table([], NAMES)) == 0


def test_annotated_writer(tmp_path):
    import decord
    path = str(tmp_path / 'a.mp4')
    frames = [np.full((45, 81, 3), i * 10, np.uint8) for i in range(12)]  # odd sides
    originals = [f.copy() for f in frames]
    with AnnotatedVideoWriter(path, 59.94) as writer:
        for f in frames:
            writer.write(f, ['1. put plate 0.30', '2. open plate 0.18'])
    assert all((f == o).all() for f, o in zip(frames, originals))  # inputs untouched
    reader = decord.VideoReader(path)
    assert len(reader) == 12 and reader[0].shape == (44, 80, 3)
    assert reader.get_avg_fps() == pytest.approx(59.94, abs=0.01)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.mp4']


def test_annotated_writer_leaves_nothing_on_error(tmp_path):
    path = tmp_path / 'a.mp4'
    with pytest.raises(RuntimeError):
        with AnnotatedVideoWriter(str(path), 25) as writer:
            writer.write(np.zeros((32, 32, 3), np.uint8), ['x'])
            raise RuntimeError('interrupted')
    assert list(tmp_path.iterdir()) == []
    with AnnotatedVideoWriter(str(path), 25):
        pass  # no frame: no file
    assert list(tmp_path.iterdir()) == []
