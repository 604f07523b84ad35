"""Small real inputs for the analysis tests: results files, class and GT CSVs, logs."""
import csv
import json
import os
import os.path as osp

import numpy as np

from epic_mmaction.results import EpicResults, save_results

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
VERBS = ['take', 'put', 'open', 'close', 'wash', 'cut']
NOUNS = ['plate', 'tap', 'cup', 'knife', 'pan', 'bowl']

# A real run's vis_data/scalars.json, verbatim: tools/train.py with
# configs/demo/x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py, 2 epochs of 5 iterations,
# logger interval 1, validation after every epoch.
REAL_SCALARS_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'real_scalars.json')
with open(REAL_SCALARS_FILE) as _f:
    REAL_LINES = _f.readlines()

# A real single-label run's vis_data/scalars.json, verbatim: tools/train.py with
# configs/x3d/x3d_s_kinetics400-pretrained_4xb16-13x6x1-30e_ucf50-rgb-headonly.py (no checkpoint, 8 frames at 32 px)
# on tools/make_synthetic_clips.py --classes 5 --groups 6 --clips 2, 2 epochs of
# 5 iterations, logger interval 1: X3DHead's loss_cls/top1_acc/top5_acc,
# AccMetric's acc/* (fractions) and ClassificationLossMetric's val/loss.
SINGLE_LABEL_SCALARS_FILE = osp.join(osp.dirname(REAL_SCALARS_FILE),
                                     'single_label_scalars.json')
with open(SINGLE_LABEL_SCALARS_FILE) as _f:
    SINGLE_LABEL_LINES = _f.readlines()


def write_run(work_dir, timestamp, lines, config=None):
    """``work_dir/<timestamp>/vis_data/scalars.json`` as mmengine writes it."""
    vis = osp.join(str(work_dir), timestamp, 'vis_data')
    os.makedirs(vis, exist_ok=True)
    with open(osp.join(vis, 'scalars.json'), 'w') as f:
        f.writelines(lines)
    if config is not None:
        with open(osp.join(vis, 'config.py'), 'w') as f:
            f.write(config)
    return vis


def json_line(**scalars):
    return json.dumps(scalars) + '\n'


def write_classes(path, names):
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['id', 'key', 'instances', 'category'])
        for i, name in enumerate(names):
            writer.writerow([i, name, f"['{name}']", 'x'])
    return str(path)


def write_gt(path, rows):
    """An EPIC narration CSV of ``(narration_id, verb_class, noun_class)``."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['narration_id', 'participant_id', 'video_id', 'narration_timestamp',
                         'start_timestamp', 'stop_timestamp', 'start_frame', 'stop_frame',
                         'narration', 'verb', 'verb_class', 'noun', 'noun_class'])
        for nid, verb, noun in rows:
            video = nid.rsplit('_', 1)[0]
            writer.writerow([nid, nid.split('_')[0], video, '00:00:01.00', '00:00:01.00',
                             '00:00:02.00', 60, 120, 'x', 'x', verb, 'x', noun])
    return str(path)


def one_hot_results(verb_label, noun_label, verb_pred, noun_pred, num_verbs=6, num_nouns=6):
    """Results whose top-1 predictions are ``verb_pred``/``noun_pred`` (p = 0.9)."""
    n = len(verb_label)

    def scores(pred, num):
        out = np.full((n, num), 0.1 / (num - 1), np.float32)
        out[np.arange(n), pred] = 0.9
        return out

    return EpicResults(narration_id=np.array([f'P01_01_{i}' for i in range(n)]),
                       participant_id=np.array(['P01'] * n),
                       verb_score=scores(verb_pred, num_verbs),
                       noun_score=scores(noun_pred, num_nouns),
                       verb_label=np.asarray(verb_label, dtype=np.int64),
                       noun_label=np.asarray(noun_label, dtype=np.int64))


def assert_png(path):
    """A real, non-empty PNG image that matplotlib reads back."""
    import matplotlib.image
    assert osp.getsize(path) > 1000
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    image = matplotlib.image.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0  # something was drawn
    return image


def save(path, results):
    save_results(str(path), results)
    return str(path)
