"""The README's demo, tool by tool, each in its own process: generate -> build -> clean -> check."""
import json
import os
import os.path as osp

import pytest

from .. import toolrun
from ..conftest import REPO

CONFIG = osp.join(REPO, 'configs', '_base_', 'datasets', 'synthetic_epic_segments.py')


def tool(name, *args, env=None):
    result = toolrun.run_tool(name, *args, env={**os.environ, **(env or {})}, timeout=600)
    return result


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp('demo_data')
    lists = tmp_path_factory.mktemp('demo_lists')
    out = tool('make_synthetic_epic.py', data, '--videos', 2, 1, 1, '--duration', 15,
               '--size', '160x90', '--workers', 2)
    assert out.returncode == 0, out.stderr
    out = tool('build_annotations.py', data, '--data-root', data / 'videos',
               '--out-dir', lists)
    assert out.returncode == 0, out.stderr
    for split in ('train', 'val', 'test'):
        out = tool('clean_segments.py', lists / f'epic100_{split}.txt', '--data-root',
                   data / 'videos', '--out', lists / f'epic100_{split}_clean.txt',
                   '--report', lists / f'epic100_{split}_clean.report.json',
                   '--workers', 2)
        assert out.returncode == 0, out.stderr
    return data, lists


def test_clean_lists_keep_every_good_segment(demo):
    _, lists = demo
    for split in ('train', 'val', 'test'):
        raw = open(lists / f'epic100_{split}.txt').read()
        clean = open(lists / f'epic100_{split}_clean.txt').read()
        assert raw == clean and raw.strip()
        report = json.load(open(lists / f'epic100_{split}_clean.report.json'))
        assert report['counts']['videos']['bad'] == 0
        assert report['counts']['segments']['kept'] == len(raw.splitlines())


def test_check_clips_catches_a_wrong_frame_range(demo, tmp_path):
    """A list shifted by 30 frames decodes other actions: the truth check fails."""
    data, lists = demo
    lines = open(lists / 'epic100_val_clean.txt').read().splitlines()
    shifted = []
    for line in lines[:-1]:  # the last segment ends the video: cannot shift it
        video, start, stop, *rest = line.split()
        shifted.append(' '.join([video, str(int(start) + 30), str(int(stop) + 30), *rest]))
    (tmp_path / 'epic100_val_clean.txt').write_text('\n'.join(shifted) + '\n')
    (tmp_path / 'pairs.json').write_text(open(lists / 'pairs.json').read())
    truth = str(data / 'synthetic_truth.json')
    env = dict(EPIC_VIDEOS=str(data / 'videos'), EPIC_LISTS=str(tmp_path))
    out = tool('check_clips.py', CONFIG, '--split', 'val', '--frame-codes', env=env)
    assert out.returncode == 0  # codes match frame_inds: decoding itself is exact
    out = tool('check_clips.py', CONFIG, '--split', 'val', '--truth', truth, env=env)
    assert out.returncode == 1 and 'PROBLEM' in out.stdout and 'labelled' in out.stdout
    # the same check passes on the unshifted lists: test_check_clips_every_split


def test_check_clips_every_split(demo, tmp_path):
    """--split train val test (as `make demo` runs it): every clip of every
    split decoded inside its segment and showing its labelled action, each
    split reported in turn; one bad split fails the run even when the others
    pass."""
    data, lists = demo
    truth = str(data / 'synthetic_truth.json')
    env = dict(EPIC_VIDEOS=str(data / 'videos'), EPIC_LISTS=str(lists))
    out = tool('check_clips.py', CONFIG, '--split', 'train', 'val', 'test', '--truth', truth,
               env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    for split in ('train', 'val', 'test'):
        assert f'{split}: all clips decoded exactly inside their segments' in out.stdout
    assert 'show their labelled actions' in out.stdout
    assert '(1, 3, 13, 160, 160)' in out.stdout or '(2, 3, 13, 160, 160)' in out.stdout
    assert out.stdout.index('train: checked') < out.stdout.index('val: checked') \
        < out.stdout.index('test: checked')
    for name in ('epic100_train_clean.txt', 'epic100_test_clean.txt', 'pairs.json'):
        (tmp_path / name).write_text(open(lists / name).read())
    lines = open(lists / 'epic100_val_clean.txt').read().splitlines()
    video, start, stop, *rest = lines[0].split()  # the first action, moved onto the next
    moved = ' '.join([video, str(int(start) + 200), str(int(stop) + 200), *rest])
    (tmp_path / 'epic100_val_clean.txt').write_text('\n'.join([moved, *lines[1:]]) + '\n')
    env['EPIC_LISTS'] = str(tmp_path)
    out = tool('check_clips.py', CONFIG, '--split', 'val', 'test', '--truth', truth, env=env)
    assert out.returncode == 1, out.stdout
    assert 'val: 1 problem(s)' in out.stdout
    assert 'test: all clips decoded exactly inside their segments' in out.stdout
