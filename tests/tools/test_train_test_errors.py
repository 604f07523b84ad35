"""tools/train.py and tools/test.py refuse bad input before the expensive work.

Every case runs the real tool in its own process (tests/toolrun.py) on the demo config (X3D-S,
6 verbs x 12 nouns, 32 px) and a one-video synthetic dataset: exit code 2,
one stderr line naming the file, no traceback, and nothing written. The
good paths run for real too: a matching checkpoint tests and dumps, and a
checkpoint whose head differs fine-tunes with one log line naming the
replaced head weights.
"""
import argparse
import os
from dataclasses import replace

import numpy as np
import pytest
import torch
from mmengine.config import Config

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import read_list, write_list
from epic_mmaction.results import load_results, save_results
from epic_mmaction.synthetic.generator import SyntheticConfig, generate

from .. import toolrun
from ..conftest import load_tool
from ..export.helpers import random_results
from ..inference.helpers import DEMO_CONFIG, save_untrained_checkpoint

# every case starts the real tool (~5 s of imports each): the fast loop
# (make test-fast) leaves them to make test
pytestmark = pytest.mark.slow

TEST_LOADER = ['test_dataloader.batch_size=2', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False']
TRAIN_SHRINK = ['train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
                'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
                'default_hooks.logger.interval=1']


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """One 8 s synthetic video, its 4-segment list as every split, checkpoints."""
    root = tmp_path_factory.mktemp('errors')
    generate(str(root), SyntheticConfig(videos={'train': 1, 'validation': 0, 'test': 0},
                                        duration=8, width=96, height=96, seed=5))
    lists = root / 'lists'
    build_annotations(BuildOptions(annotations_dir=str(root), out_dir=str(lists),
                                   splits=('train',)))
    segments = read_list(str(lists / 'epic100_train.txt'))
    for split in ('train', 'val'):
        write_list(str(lists / f'epic100_{split}_clean.txt'), segments)
    good = save_untrained_checkpoint(str(root / 'good.pth'))
    seven = save_untrained_checkpoint(str(root / 'seven_verbs.pth'), num_verbs=7)
    return dict(root=root, videos=str(root / 'videos'), lists=lists, segments=segments,
                good=good, seven=seven)


def run_tool(tool, *args, data, lists=None):
    env = {**os.environ, 'EPIC_VIDEOS': data['videos'],
           'EPIC_LISTS': str(lists or data['lists']), 'CUDA_VISIBLE_DEVICES': '',
           'PYTHONUNBUFFERED': '1'}
    return toolrun.run_tool(tool, *args, env=env)


def assert_refused(out, tool, *names):
    """Exit 2, one line ``TOOL: error: ...`` naming every one of ``names``."""
    log = out.stdout + out.stderr
    assert out.returncode == 2, log[-3000:]
    assert 'Traceback' not in log, log[-3000:]
    # the stack's import-time deprecation warnings aside
    lines = [line for line in out.stderr.splitlines() if line.strip()
             and 'Warning: ' not in line and not line.startswith('  ')]
    assert len(lines) == 1 and lines[0].startswith(f'{tool}: error: '), out.stderr[-3000:]
    for name in names:
        assert str(name) in lines[0], lines[0]
    return lines[0]


def lists_with(tmp_path, segments):
    """A lists folder (pairs.json and all) whose train and val lists hold ``segments``."""
    lists = tmp_path / 'lists'
    lists.mkdir()
    write_list(str(lists / 'epic100_train_clean.txt'), segments)
    write_list(str(lists / 'epic100_val_clean.txt'), segments)
    return lists


def test_test_refuses_unusable_checkpoints(data, tmp_path):
    dump = tmp_path / 'results.npz'

    def refused(checkpoint, *names, options=()):
        out = run_tool('test.py', DEMO_CONFIG, checkpoint, '--work-dir', tmp_path / 'work',
                       '--dump', dump, *(['--cfg-options', *options] if options else []),
                       data=data)
        line = assert_refused(out, 'test.py', *names)
        assert not dump.exists()
        return line

    refused(tmp_path / 'nope.py', f'checkpoint not found: {tmp_path}/nope.py')
    truncated = tmp_path / 'truncated.pth'
    whole = open(data['good'], 'rb').read()
    truncated.write_bytes(whole[:len(whole) // 2])
    refused(truncated, f'cannot load checkpoint {truncated}: a truncated or damaged zip')
    noise = tmp_path / 'noise.pth'
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    line = refused(noise, f'cannot load checkpoint {noise}: not a PyTorch checkpoint')
    assert 'weights_only' not in line  # torch's advice to unpickle it unsafely
    submission = tmp_path / 'submission.pt'
    torch.save([{'narration_id': 'P01_01_0', 'verb_output': torch.zeros(6),
                 'noun_output': torch.zeros(12)}], submission)
    refused(submission, f'{submission} is a Codabench submission')
    # a 7-verb checkpoint with the 6-verb config: both files named, whatever the options
    refused(data['seven'], data['seven'], DEMO_CONFIG, '2 shape(s) differ',
            'cls_head.output.fc_verb.weight (7, 432) in the checkpoint, (6, 432)')
    refused(data['seven'], 'conflicts with the checkpoint',
            options=[f"load_from={data['good']}"])
    assert not (tmp_path / 'work').exists()  # refused before the runner started


def test_test_refuses_bad_lists_before_testing(data, tmp_path):
    segs = data['segments']
    cases = {
        'label': ([segs[0], replace(segs[1], verb=50)],
                  [':2: P01_01_1 has verb class 50, but the model predicts 6']),
        'duplicate': ([segs[0], segs[1], segs[0]],
                      [':3: narration id P01_01_0 is already on line 1']),
        'empty': ([], [' has no segments']),
    }
    for name, (rows, expected) in cases.items():
        case = tmp_path / name
        case.mkdir()
        lists = lists_with(case, rows)
        os.link(data['lists'] / 'pairs.json', lists / 'pairs.json')
        dump = case / 'results.npz'
        out = run_tool('test.py', DEMO_CONFIG, data['good'], '--work-dir', case / 'work',
                       '--dump', dump, '--cfg-options', *TEST_LOADER, data=data,
                       lists=lists)
        assert_refused(out, 'test.py', lists / 'epic100_val_clean.txt', *expected)
        assert not dump.exists()
        assert 'Epoch(test)' not in out.stdout + out.stderr  # nothing was tested


def test_test_with_a_matching_checkpoint_dumps_and_never_overwrites(data, tmp_path):
    dump = tmp_path / 'results.npz'
    args = [DEMO_CONFIG, data['good'], '--work-dir', tmp_path / 'work', '--dump', dump,
            '--cfg-options', *TEST_LOADER]
    out = run_tool('test.py', *args, data=data)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    assert 'do not match exactly' not in out.stdout + out.stderr
    first = load_results(str(dump))
    assert sorted(first.narration_id) == sorted(s.narration_id for s in data['segments'])
    save_results(str(dump), random_results(first.narration_id, 6, 12))
    before = dump.read_bytes()
    assert_refused(run_tool('test.py', *args, data=data), 'test.py',
                   f'{dump} already exists, use --force')
    assert dump.read_bytes() == before
    out = run_tool('test.py', *args, '--force', data=data)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    again = load_results(str(dump))  # the same model on the same segments again
    np.testing.assert_allclose(again.verb_score, first.verb_score, rtol=1e-5)


def test_dump_metric_follows_cfg_options():
    merge_args = load_tool('test').merge_args
    cfg = Config(dict(test_dataloader=dict(dataset=dict(type='EpicSegmentVideoDataset',
                                                         label_mode='verb_noun')),
                      test_evaluator=[]))
    args = argparse.Namespace(launcher='none', work_dir='w', config='x.py',
                              checkpoint='x.pth', dump='out.npz', tta=False,
                              cfg_options={'test_dataloader.dataset.label_mode': 'single'})
    assert [e['type'] for e in merge_args(cfg, args).test_evaluator] == ['DumpClipResults']
    # a recipe's own load_from (a Kinetics URL) is replaced by the checkpoint, options or not
    cfg = Config(dict(load_from='https://example.org/k400.pth', test_evaluator=[]))
    args.cfg_options, args.dump = {'test_dataloader.batch_size': 1}, None
    assert merge_args(cfg, args).load_from == 'x.pth'


def test_train_refuses_bad_input_before_training(data, tmp_path):
    segs = data['segments']
    out = run_tool('train.py', tmp_path / 'nope.py', data=data)
    assert_refused(out, 'train.py', f'config not found: {tmp_path}/nope.py')

    truncated = tmp_path / 'epoch_3.pth'
    whole = open(data['good'], 'rb').read()
    truncated.write_bytes(whole[:len(whole) - 100])
    out = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'w1', '--resume',
                   truncated, data=data)
    assert_refused(out, 'train.py', f'cannot load checkpoint {truncated}')

    other = dict(torch.load(data['good'])['state_dict'])
    other['backbone.conv1_s.conv.weight'] = torch.zeros(24, 3, 1, 5, 5)
    backbone = tmp_path / 'other_backbone.pth'
    torch.save({'state_dict': other}, backbone)
    out = run_tool('train.py', DEMO_CONFIG, '--work-dir', tmp_path / 'w2', '--cfg-options',
                   f'load_from={backbone}', *TRAIN_SHRINK, data=data)
    assert_refused(out, 'train.py', f'load_from {backbone} does not fit', DEMO_CONFIG,
                   'backbone.conv1_s.conv.weight (24, 3, 1, 5, 5) in the checkpoint',
                   'load_from=None')

    big = replace(segs[2], noun=12)
    for name, rows, expected in [
            ('label', [segs[0], segs[1], big], ':3: P01_01_2 has noun class 12, but the '
             'model predicts 12 (0..11'),
            ('empty', [], ' has no segments')]:
        case = tmp_path / name
        case.mkdir()
        lists = lists_with(case, rows)
        os.link(data['lists'] / 'pairs.json', lists / 'pairs.json')
        out = run_tool('train.py', DEMO_CONFIG, '--work-dir', case / 'work', '--no-validate',
                       '--cfg-options', *TRAIN_SHRINK, data=data, lists=lists)
        assert_refused(out, 'train.py', lists / 'epic100_train_clean.txt', expected)
        assert 'Epoch(train)' not in out.stdout + out.stderr
        assert not [f for f in os.listdir(case / 'work') if f.endswith('.pth')]


def test_fine_tuning_replaces_a_head_that_does_not_fit_in_one_line(data, tmp_path):
    # a 7-verb checkpoint, its backbone marked: BatchNorm has counted 100 batches
    checkpoint = torch.load(data['seven'])
    bn = 'backbone.conv1_t.bn.num_batches_tracked'
    checkpoint['state_dict'][bn] = torch.tensor(100)
    pretrained = tmp_path / 'pretrained_seven_verbs.pth'
    torch.save(checkpoint, pretrained)
    work = tmp_path / 'work'
    out = run_tool('train.py', DEMO_CONFIG, '--work-dir', work, '--no-validate',
                   '--cfg-options', f'load_from={pretrained}', *TRAIN_SHRINK, data=data)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-3000:]
    assert 'Epoch(train) [1][2/2]' in log.replace('  ', ' ')
    assert 'size mismatch' not in log and 'do not match exactly' not in log
    lines = [line for line in log.splitlines() if 'start from their initialisation' in line]
    assert len(lines) == 1, log[-3000:]
    assert f'load_from {pretrained}: ' in lines[0]
    assert lines[0].endswith('cls_head.output.fc_verb.weight (7, 432)->(6, 432), '
                             'cls_head.output.fc_verb.bias (7,)->(6,)'), lines[0]
    trained = torch.load(work / 'epoch_1.pth', weights_only=False)['state_dict']
    assert trained['cls_head.output.fc_verb.weight'].shape == (6, 432)
    assert trained[bn] == 102  # the backbone came from the checkpoint, then 2 batches
