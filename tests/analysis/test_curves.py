"""Training curves from mmengine's scalars.json: merging runs, missing keys, errors."""
import json
import os

import numpy as np
import pytest

from epic_mmaction.analysis import CurveLogError, curve_panels, plot_curves, read_training_log

from ..conftest import load_tool
from .helpers import REAL_LINES, SINGLE_LABEL_LINES, assert_png, json_line, write_run

TRAIN = [line for line in REAL_LINES if '"iter"' in line]
VAL = [line for line in REAL_LINES if '"iter"' not in line]


def test_real_log(tmp_path):
    write_run(tmp_path, '20261123_134711', REAL_LINES)
    log = read_training_log(str(tmp_path))
    assert len(log.runs) == 1 and not log.bad_lines
    assert log.train.index.tolist() == list(range(1, 11))
    assert log.val.index.tolist() == [1, 2]  # validation steps are epochs
    assert log.iters_per_epoch == 5 and log.val_by_epoch
    assert log.train.loc[3, 'verb_loss_cls'] == pytest.approx(1.7919779618581135)
    assert log.val.loc[2, 'epic/noun_top1'] == 10.0
    np.testing.assert_allclose(log.train_x('epoch'), np.arange(1, 11) / 5)
    np.testing.assert_allclose(log.val_x('epoch'), [1, 2])
    np.testing.assert_allclose(log.val_x('iter'), [5, 10])  # after each epoch's last iter
    for x in ('epoch', 'iter'):
        assert_png(plot_curves(log, str(tmp_path / f'curves_{x}.png'), x=x))


def test_resumed_run_replaces_what_it_redid(tmp_path):
    # first run killed during epoch 2 (iter 8), mid-line; resumed from epoch 1
    write_run(tmp_path, '20260101_100000', REAL_LINES[:9] + ['{"lr": 0.004, "data_ti'])
    redo = [json.loads(line) for line in TRAIN[5:]]  # iters 6..10 again
    for record in redo:
        record['loss'] = 1.0
    write_run(tmp_path, '20260101_120000',
              [json.dumps(r) + '\n' for r in redo] + [VAL[1].replace('10.0', '55.0')])
    log = read_training_log(str(tmp_path))
    assert [os.path.basename(os.path.dirname(os.path.dirname(p))) for p in log.runs] == [
        '20260101_100000', '20260101_120000']
    assert log.bad_lines == [f'{log.runs[0]}:10']  # the torn last line
    assert log.train.index.tolist() == list(range(1, 11))
    assert log.train['loss'].tolist()[:5] == pytest.approx(
        [json.loads(line)['loss'] for line in TRAIN[:5]])
    assert log.train['loss'].tolist()[5:] == [1.0] * 5  # iters 6-8 of the killed run dropped
    assert log.val.index.tolist() == [1, 2]
    assert log.val.loc[1, 'epic/verb_top1'] == 10.0  # kept from the first run
    assert log.val.loc[2, 'epic/noun_top1'] == 55.0
    assert_png(plot_curves(log, str(tmp_path / 'curves.png')))


def test_restart_from_scratch_wins(tmp_path):
    write_run(tmp_path, '20260101_100000', REAL_LINES)
    write_run(tmp_path, '20260102_100000', [json_line(loss=9.0, epoch=1, iter=1, step=1)])
    log = read_training_log(str(tmp_path))
    assert log.train['loss'].tolist() == [9.0]
    assert log.val.empty  # the old run's validations belong to the old run


def test_missing_keys_plot_what_exists(tmp_path):
    write_run(tmp_path, '20260101_100000',
              [json_line(loss=2.0 - i / 10, epoch=1, iter=i, step=i) for i in range(1, 8)])
    log = read_training_log(str(tmp_path))
    assert log.val.empty and list(log.train.columns) == ['loss', 'epoch', 'iter', 'step']
    image = assert_png(plot_curves(log, str(tmp_path / 'curves.png')))
    full = assert_png(plot_curves(read_training_log(_real(tmp_path)),
                                  str(tmp_path / 'full.png')))
    assert image.shape[1] < full.shape[1]  # one panel, not a 2x2 grid


def _real(tmp_path):
    work = tmp_path / 'real'
    write_run(work, '20261123_134711', REAL_LINES)
    return str(work)


def test_iteration_validation_and_iter_based_loops(tmp_path):
    config = ("default_hooks = dict(logger=dict(log_metric_by_epoch=False, "
              "type='LoggerHook'))\n")
    lines = TRAIN[:5] + [VAL[0].replace('"step": 1', '"step": 5')]
    write_run(tmp_path / 'a', '20260101_100000', lines, config=config)
    log = read_training_log(str(tmp_path / 'a'))
    assert not log.val_by_epoch and log.val.index.tolist() == [5]
    np.testing.assert_allclose(log.val_x('epoch'), [1.0])

    write_run(tmp_path / 'b', '20260101_100000',
              [json_line(loss=1.0, lr=0.1, iter=i, step=i) for i in (10, 20)])
    log = read_training_log(str(tmp_path / 'b'))
    assert log.iters_per_epoch is None
    assert_png(plot_curves(log, str(tmp_path / 'b.png')))  # against iterations
    with pytest.raises(CurveLogError, match='no epochs'):
        plot_curves(log, str(tmp_path / 'b2.png'), x='epoch')


def test_no_logs_is_a_clear_error(tmp_path):
    (tmp_path / '20260101_100000').mkdir()  # e.g. a test run's dir: no scalars.json
    with pytest.raises(CurveLogError, match=f'{tmp_path}: no training logs'):
        read_training_log(str(tmp_path))
    with pytest.raises(CurveLogError, match='nope: no such directory'):
        read_training_log(str(tmp_path / 'nope'))
    write_run(tmp_path, '20260101_100000', [json_line(data_time=0.1, time=0.2, step=1)])
    with pytest.raises(CurveLogError, match='no loss, lr, accuracy or top-1'):
        plot_curves(read_training_log(str(tmp_path)), str(tmp_path / 'c.png'))
    assert not (tmp_path / 'c.png').exists()


def _keys(panels):
    return {title: [c.key for c in curves] for title, curves in panels.items()}


def test_epic_panels_by_value(tmp_path):
    panels = curve_panels(read_training_log(_real(tmp_path)))
    assert _keys(panels) == {
        'loss': ['loss', 'noun_loss_cls', 'verb_loss_cls'],
        'learning rate': ['lr'],
        'training accuracy (%, batch)': ['verb_acc', 'noun_acc'],
        'validation top-1 (%)': ['epic/verb_top1', 'epic/noun_top1', 'epic/action_top1']}
    verb = panels['validation top-1 (%)'][0]
    assert verb.validation and verb.x.tolist() == [1, 2]
    assert verb.y.tolist() == [10.0, 0.0]  # EpicActionMetric logs percent already
    assert panels['training accuracy (%, batch)'][0].y[0] == 25.0  # verb_acc 0.25


def test_single_label_run(tmp_path, capsys):
    # X3DHead + AccMetric + ClassificationLossMetric: loss_cls, top1_acc, acc/*, val/loss
    write_run(tmp_path, '20261129_184606', SINGLE_LABEL_LINES)
    log = read_training_log(str(tmp_path))
    assert log.iters_per_epoch == 5 and log.val_by_epoch and not log.bad_lines
    assert log.val.loc[2, 'val/loss'] == pytest.approx(1.6095179303811469)
    panels = curve_panels(log)
    assert _keys(panels) == {
        'loss': ['loss', 'loss_cls', 'val/loss'],
        'learning rate': ['lr'],
        'training accuracy (%, batch)': ['top1_acc', 'top5_acc'],
        'validation accuracy (%)': ['acc/top1', 'acc/mean1']}
    val_loss = panels['loss'][2]
    assert val_loss.validation and val_loss.x.tolist() == [1, 2]  # epochs
    np.testing.assert_allclose(val_loss.y, [1.6094583583540651, 1.6095179303811469])
    assert not panels['loss'][0].validation and len(panels['loss'][0].x) == 10
    np.testing.assert_allclose(panels['training accuracy (%, batch)'][0].y[:4],
                               [0, 12.5, 12.5, 25])
    for curve in panels['validation accuracy (%)']:  # AccMetric logs fractions
        np.testing.assert_allclose(curve.y, [20.0, 20.0])
    np.testing.assert_allclose(panels['learning rate'][0].y[[0, 4]], [0.005, 0.05])
    assert curve_panels(log, 'iter')['loss'][2].x.tolist() == [5, 10]

    assert load_tool('plot_curves').main([str(tmp_path)]) == 0
    assert '10 training and 2 validation entries from 1 run(s)' in capsys.readouterr().out
    full = assert_png(tmp_path / 'curves.png')
    assert full.shape[1] > 1000  # a 2x2 grid
