"""Early stopping of the whole-video runtime, on the validation loss or on accuracy.

The demo recipe (ResNet18+LSTM, the clip runtime's EarlyStoppingHook) runs
with a learning rate of 0, so neither validation loss nor accuracy can
improve: the run must stop after 1 + patience validations, and say why.
"""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from ..conftest import REPO
from .conftest import NUM_CLASSES

DEMO = osp.join(REPO, 'configs', 'demo', 'r18_lstm_1xb8-u4-16e_synthetic-ucf50-rgb.py')


def run_demo(clips, tmp_path, monitor: str):
    videos, lists = clips
    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / monitor.replace('/', '_'))
    cfg.launcher = 'none'
    cfg.model.cls_head.num_classes = NUM_CLASSES
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].update(batch_size=4, num_workers=0, persistent_workers=False)
        cfg[loader].dataset.update(ann_file=osp.join(lists, 'clips_train.txt'),
                                   data_prefix=dict(video=videos))
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.optim_wrapper.optimizer.lr = 0.0
    cfg.param_scheduler = None
    cfg.train_cfg.max_epochs = 6
    (stopper,) = [h for h in cfg.custom_hooks if h['type'] == 'EarlyStoppingHook']
    stopper.update(monitor=monitor, patience=2)
    cfg.custom_hooks = [stopper]
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()
    return runner, log


@pytest.mark.slow
@pytest.mark.parametrize('monitor', ['val/loss', 'acc/top1'])
def test_early_stopping_ends_a_run_that_stopped_improving(tiny_clips, tmp_path, monitor):
    shipped = Config.fromfile(DEMO).custom_hooks[0]
    assert shipped['type'] == 'EarlyStoppingHook' and shipped['monitor'] == 'val/loss'
    runner, log = run_demo(tiny_clips, tmp_path, monitor)
    # epoch 1 sets the best score; epochs 2 and 3 fail to improve: stop
    assert runner.epoch == 3, log[-2000:]
    assert 'the monitored metric did not improve in the last 2 records' in log
    assert log.count('Epoch(val)') == 3 and 'val/loss' in log
