"""End to end on a real (tiny) training: train, resume, test --dump, analyse, plot."""
import os
import os.path as osp
import shutil

import pandas as pd
import pytest

from epic_mmaction.analysis import read_training_log

from .. import toolrun
from ..conftest import REPO
from .helpers import assert_png

CONFIG = osp.join(REPO, 'configs', 'demo', 'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py')


def run(*cmd, env=None):
    out = toolrun.run_tool(*cmd, env={**os.environ, **(env or {})})
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out


def tool(name):
    return osp.join(REPO, 'tools', name)


@pytest.mark.slow
def test_real_training_logs_and_results(tmp_path):
    data, lists, work = tmp_path / 'data', tmp_path / 'lists', tmp_path / 'work'
    run(tool('make_synthetic_epic.py'), data, '--videos', 2, 1, 0, '--duration', 20,
        '--size', '96x96', '--workers', 1)
    run(tool('build_annotations.py'), data, '--data-root', data / 'videos',
        '--out-dir', lists)
    for split in ('train', 'val'):
        shutil.copy(lists / f'epic100_{split}.txt', lists / f'epic100_{split}_clean.txt')
    env = {'EPIC_VIDEOS': str(data / 'videos'), 'EPIC_LISTS': str(lists),
           'CUDA_VISIBLE_DEVICES': ''}
    options = ['train_cfg.val_interval=1', 'default_hooks.logger.interval=1',
               'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=4',
               'train_dataloader.num_workers=1', 'val_dataloader.num_workers=1',
               'test_dataloader.num_workers=1']
    train = [tool('train.py'), CONFIG, '--work-dir', work, '--cfg-options', *options]
    run(*train, 'train_cfg.max_epochs=1', env=env)
    run(*train, 'train_cfg.max_epochs=2', '--resume', env=env)  # a second <timestamp>
    checkpoint = open(work / 'last_checkpoint').read().strip()
    run(tool('test.py'), CONFIG, checkpoint, '--work-dir', work, '--dump',
        work / 'val_results.npz', '--cfg-options', 'test_dataloader.num_workers=1', env=env)

    log = read_training_log(str(work))  # the test run's <timestamp> has no scalars.json
    assert len(log.runs) == 2 and not log.bad_lines
    steps = log.train.index.tolist()
    assert steps == list(range(1, len(steps) + 1)) and log.iters_per_epoch == len(steps) / 2
    assert log.val.index.tolist() == [1, 2] and log.val_by_epoch
    for key in ('loss', 'verb_loss_cls', 'noun_loss_cls', 'lr', 'verb_acc', 'noun_acc'):
        assert log.train[key].notna().all(), key
    for key in ('epic/verb_top1', 'epic/noun_top1', 'epic/action_top1'):
        assert key in log.val

    out = run(tool('plot_curves.py'), work, '--out', tmp_path / 'curves.png')
    assert 'from 2 run(s)' in out.stdout
    assert_png(tmp_path / 'curves.png')

    out_dir = tmp_path / 'analysis'
    out = run(tool('analyze_results.py'), work / 'val_results.npz',
              '--gt', data / 'EPIC_100_validation.csv',
              '--verb-classes', data / 'EPIC_100_verb_classes.csv',
              '--noun-classes', data / 'EPIC_100_noun_classes.csv', '--out-dir', out_dir)
    assert 'skipped' not in out.stdout  # every validation segment is labelled
    for task in ('verb', 'noun'):
        assert_png(out_dir / f'{task}_confusion.png')
        per_class = pd.read_csv(out_dir / f'{task}_per_class.csv')
        assert per_class['support'].sum() == len(open(lists / 'epic100_val.txt').readlines())
    predictions = pd.read_csv(out_dir / 'predictions.csv')
    # the best action is the best verb with the best noun
    assert ((predictions['action_1_score']
             - predictions['verb_1_score'] * predictions['noun_1_score']).abs() < 2e-6).all()
    assert (predictions['action_1'] == predictions['verb_1'] + ' '
            + predictions['noun_1']).all()
    assert (predictions['action_1_score'] >= predictions['action_5_score']).all()
    assert (predictions['verb_1_score'] >= predictions['verb_2_score']).all()
