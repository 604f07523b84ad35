"""Every shipped config: 2 training iterations, validation and a test step on CPU.

Runs the real tools/train.py and tools/test.py as subprocesses on a tiny list
of synthetic segments (shrunk through --cfg-options, as a user would).
"""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import read_list, write_list
from epic_mmaction.evaluation import load_results

from ..conftest import REPO

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                      recursive=True) if '_base_' not in p)


@pytest.fixture(scope='module')
def tiny_lists(small_epic, tmp_path_factory):
    root, _, _ = small_epic
    out = tmp_path_factory.mktemp('tiny_lists')
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(out)))
    train = read_list(str(out / 'epic100_train.txt'))
    for split in ('train', 'val', 'test'):
        write_list(str(out / f'epic100_{split}_clean.txt'), train[:2])
    return osp.join(root, 'videos'), str(out)


def shrink_tta(config):
    """--cfg-options that keep a config's tta_pipeline cheap but multi-view."""
    options = []
    for i, step in enumerate(Config.fromfile(config).tta_pipeline):
        if 'num_clips' in step:
            options.append(f'tta_pipeline.{i}.num_clips=2')
        if step['type'] == 'Resize' and step['scale'][0] == -1:
            options.append(f'tta_pipeline.{i}.scale=(-1,64)')
        if step['type'] == 'ThreeCrop':
            options.append(f'tta_pipeline.{i}.crop_size=64')
    return options


def run_tool(tool, *args, env):
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *map(str, args)],
                          capture_output=True, text=True, cwd=REPO, timeout=900,
                          env={**os.environ, **env})


def test_every_config_is_covered():
    names = {osp.relpath(p, osp.join(REPO, 'configs')) for p in CONFIGS}
    for family in ('x3d_s', 'slowfast_r50', 'tsm_r50_lstm'):
        for output in ('verbnoun', 'pair'):
            assert any(family in n and output in n for n in names), (family, output)
    assert any(n.startswith('tsm/r50_lstm') for n in names)
    assert any(n.startswith('demo/') for n in names)


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_config_trains_and_tests(config, tiny_lists, tmp_path):
    videos, lists = tiny_lists
    env = dict(EPIC_VIDEOS=videos, EPIC_LISTS=lists, CUDA_VISIBLE_DEVICES='')
    shrink = ['train_dataloader.batch_size=1', 'val_dataloader.batch_size=1',
              'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
              'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.persistent_workers=False',
              'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
              'default_hooks.logger.interval=1']
    work = tmp_path / 'work'
    out = run_tool('train.py', config, '--work-dir', work, '--cfg-options', *shrink, env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    log = out.stdout + out.stderr
    assert 'Epoch(train) [1][2/2]' in log and 'epic/action_top1' in log
    ckpt = work / 'epoch_1.pth'
    assert ckpt.exists()
    # the test step uses the config's test-time augmentation (several clips x 3
    # crops), shrunk to 2 clips at 64 px; the plain test pipeline runs in the
    # demo pipeline tests
    dump = tmp_path / 'results.npz'
    out = run_tool('test.py', config, ckpt, '--work-dir', work, '--dump', dump, '--tta',
                   '--cfg-options', 'test_dataloader.num_workers=0',
                   'test_dataloader.persistent_workers=False', *shrink_tta(config),
                   env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = load_results(str(dump))
    assert len(results) == 2 and np.isfinite(results.verb_score).all()
    np.testing.assert_allclose(results.verb_score.sum(1), 1.0, rtol=1e-4)
