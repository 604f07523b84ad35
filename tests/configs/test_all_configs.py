"""Every shipped config: 2 training iterations, validation and a test step on CPU.

Runs the real tools/train.py and tools/test.py, each in its own process
(forked from one with the stack imported, tests/toolrun.py), on a tiny list
of synthetic segments (shrunk through --cfg-options, as a user would).
The demo configs train for real in their own tests (tests/tools/test_demo_*.py).
"""
import ast
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import TO_END, Segment, read_list, write_list
from epic_mmaction.results import ClipResults, load_any_results, load_results
from epic_mmaction.synthetic.clips import class_folder_specs, write_clip_dataset

from .. import toolrun
from ..conftest import REPO

CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                      recursive=True) if '_base_' not in p)


def is_single_label(config: str) -> bool:
    return Config.fromfile(config).train_dataloader.dataset.get('label_mode') == 'single'


# whole-video (single-label) recipes run on clip lists below; the demo ones
# train for real in tests/tools/test_clip_pipeline.py
CLIP_CONFIGS = [p for p in CONFIGS if is_single_label(p) and '/demo/' not in p]
# the SlowOnly difflr/progressive recipes share the head-only one's model and
# pipelines; tests/engine trains all three (progressive through dist_train.sh)
TOOL_CLIP_CONFIGS = [p for p in CLIP_CONFIGS
                     if not p.endswith(('hri30-rgb-difflr.py',
                                        'hri30-rgb-progressive.py'))]
EPIC_CONFIGS = [p for p in CONFIGS if not is_single_label(p)]
# the demo config trains and tests (--tta) for real in tests/tools/test_demo_learns.py
# (make demo): two more iterations of it here would test the same path twice
TOOL_EPIC_CONFIGS = [p for p in EPIC_CONFIGS if '/demo/' not in p]


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


def shrink_pipelines(config, size=64):
    """--cfg-options that train and validate at ``size`` px instead of 160-224.

    Every step, its order and the clip length stay the config's own (the
    temporal layout is what differs between the backbones); only the spatial
    sizes shrink, which cuts each step's compute ~10x on a CPU. The configs'
    full-size training runs in tools/gpu_check.py and the training benchmark.
    """
    cfg = Config.fromfile(config)
    options = []
    for loader in ('train_dataloader', 'val_dataloader'):
        for i, step in enumerate(cfg[loader].dataset.pipeline):
            key = f'{loader}.dataset.pipeline.{i}'
            scale = step.get('scale')
            if step['type'] == 'Resize' and scale[0] == -1 and scale[1] > size:
                options.append(f'{key}.scale=(-1,{size + size // 8})')
            elif step['type'] == 'Resize' and scale[0] > size:
                options.append(f'{key}.scale=({size},{size})')
            elif step['type'] == 'MultiScaleCrop':
                options.append(f'{key}.input_size={size}')
            elif step['type'] == 'CenterCrop' and isinstance(step['crop_size'], int) \
                    and step['crop_size'] > size:
                options.append(f'{key}.crop_size={size}')
    return options


def run_tool(tool, *args, env):
    return toolrun.run_tool(tool, *args, env={**os.environ, **env})


def test_every_config_is_covered():
    names = {osp.relpath(p, osp.join(REPO, 'configs')) for p in EPIC_CONFIGS}
    for family in ('x3d_s', 'slowfast_r50', 'tsm_r50_lstm'):
        for output in ('verbnoun', 'pair'):
            assert any(family in n and output in n for n in names), (family, output)
    assert any(n.startswith('r50_lstm/') for n in names)
    assert any(n.startswith('demo/') for n in names)
    clips = {osp.relpath(p, osp.join(REPO, 'configs')) for p in CLIP_CONFIGS}
    for recipe in ('x3d/x3d_s_kinetics400-pretrained_', 'r50_lstm/r50_lstm_imagenet-pretrained_'):
        assert any(n.startswith(recipe) for n in clips), recipe
    for strategy in ('headonly', 'difflr', 'progressive'):
        assert any(n.startswith('slowonly/') and n.endswith(f'_hri30-rgb-{strategy}.py')
                   for n in clips), strategy
    assert set(CONFIGS) == set(EPIC_CONFIGS) | set(CLIP_CONFIGS) | {
        p for p in CONFIGS if '/demo/' in p}


MODEL_BASES = sorted(glob.glob(osp.join(REPO, 'configs', '_base_', 'models', '*.py')))


def declared_bases(path):
    """The ``_base_`` list a config file assigns, as written."""
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == '_base_' for t in node.targets):
            bases = ast.literal_eval(node.value)
            return [bases] if isinstance(bases, str) else list(bases)
    return []


@pytest.mark.parametrize('base', MODEL_BASES, ids=osp.basename)
def test_model_bases_inherit_mmaction(base):
    """Each model base extends one of MMAction2's own (mmaction::_base_/models/...)
    and overrides only what differs, rather than copying it."""
    bases = declared_bases(base)
    assert any(b.startswith('mmaction::_base_/models/') for b in bases), (base, bases)


def test_model_bases_resolve_without_the_plugin():
    """mmengine finds mmaction:: bases in the installed package, before (and
    without) anything of this project being imported."""
    script = ('import sys; from mmengine.config import Config\n'
              'for path in sys.argv[1:]:\n'
              '    assert Config.fromfile(path).model.type.startswith("Recognizer"), path\n'
              'assert not [m for m in sys.modules if m.startswith("epic_mmaction")]\n')
    out = subprocess.run([sys.executable, '-c', script, *MODEL_BASES], capture_output=True,
                         text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize('config', TOOL_EPIC_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_config_trains_and_tests(config, tiny_lists, tmp_path):
    videos, lists = tiny_lists
    env = dict(EPIC_VIDEOS=videos, EPIC_LISTS=lists, CUDA_VISIBLE_DEVICES='')
    shrink = ['train_dataloader.batch_size=1', 'val_dataloader.batch_size=1',
              'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
              'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.persistent_workers=False',
              'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
              'default_hooks.logger.interval=1', *shrink_pipelines(config)]
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


@pytest.fixture(scope='module')
def tiny_clip_lists(tmp_path_factory):
    """UCF50- and HRI30-named lists of 2 synthetic clips each, every split."""
    root = tmp_path_factory.mktemp('tiny_clip_lists')
    videos, lists = str(root / 'videos'), str(root / 'lists')
    specs = class_folder_specs(2, num_groups=1, clips_per_group=1)
    write_clip_dataset(videos, specs, num_frames=20, size=(64, 64))
    segments = [Segment(s.path, 0, TO_END, s.class_id, -1,
                        osp.splitext(osp.basename(s.path))[0]) for s in specs]
    for prefix in ('ucf50', 'hri30'):
        for split in ('train', 'val', 'test'):
            write_list(osp.join(lists, f'{prefix}_{split}_clean.txt'), segments)
    return videos, lists


@pytest.mark.slow
@pytest.mark.parametrize('config', TOOL_CLIP_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_clip_config_trains_and_tests(config, tiny_clip_lists, tmp_path):
    """The whole-video recipes (no pretrained download): 2 iterations,
    validation (accuracy and val/loss), a TTA test step and its clip dump."""
    videos, lists = tiny_clip_lists
    env = dict(UCF50_VIDEOS=videos, UCF50_LISTS=lists, HRI30_VIDEOS=videos,
               HRI30_LISTS=lists, CUDA_VISIBLE_DEVICES='')
    shrink = ['train_dataloader.batch_size=1', 'val_dataloader.batch_size=1',
              'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
              'test_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
              'val_dataloader.persistent_workers=False',
              'test_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
              'default_hooks.logger.interval=1', 'load_from=None',
              *shrink_pipelines(config)]
    if Config.fromfile(config).model.backbone.get('pretrained'):
        shrink.append('model.backbone.pretrained=None')  # torchvision://resnet50
    work = tmp_path / 'work'
    out = run_tool('train.py', config, '--work-dir', work, '--cfg-options', *shrink, env=env)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'Epoch(train) [1][2/2]' in log and 'acc/top1' in log and 'val/loss' in log
    dump = tmp_path / 'results.npz'
    out = run_tool('test.py', config, work / 'epoch_1.pth', '--work-dir', work, '--dump',
                   dump, '--tta', '--cfg-options', 'test_dataloader.num_workers=0',
                   'test_dataloader.persistent_workers=False', *shrink_tta(config),
                   env=env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    results = load_any_results(str(dump))
    assert isinstance(results, ClipResults) and len(results) == 2
    np.testing.assert_allclose(results.score.sum(1), 1.0, rtol=1e-4)
