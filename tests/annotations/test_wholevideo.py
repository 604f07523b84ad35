"""tools/build_annotations.py --format class-folders|filename on real synthetic clips."""
import json
import os
import os.path as osp
import re
import subprocess
import sys
from collections import Counter

import av
import pytest

from epic_mmaction.annotations.listfile import read_list
from epic_mmaction.synthetic.clips import (class_folder_specs, class_name,
                                           write_class_clip, write_clip_dataset)

from ..conftest import REPO, load_tool

FRAMES = 16
RATIOS = (0.7, 0.15, 0.15)
SPLITS = ('train', 'val', 'test')
GROUP = re.compile(r'_g(\d+)_')
# videos without a _gGG_ group, with other lengths and containers
EXTRA = {f'{class_name(1)}/extra_a.MP4': (1, 21), f'{class_name(2)}/extra_b.avi': (2, 19)}
HRI_PATTERN = r'^(?P<label>CID\d+)_(?P<group>SID\d+)_VID\d+$'


def per_group(c: int) -> int:
    """Videos of class c in each of its groups."""
    return c % 3 + 1


@pytest.fixture(scope='module')
def tool():
    return load_tool('build_annotations')


@pytest.fixture(scope='module')
def ucf(tmp_path_factory):
    """UCF layout, 4 classes x 10 groups, uneven: class c has c % 3 + 1 videos
    a group, class 3 is missing from groups 7-10 and class 0 from groups 1-3."""
    root = str(tmp_path_factory.mktemp('data') / 'UCFmini')
    specs = []
    for spec in class_folder_specs(4, 10, 3):
        clip = int(re.search(r'_c(\d+)', spec.path).group(1))
        if clip <= per_group(spec.class_id) and not (
                (spec.class_id == 3 and spec.group > 6)
                or (spec.class_id == 0 and spec.group < 4)):
            specs.append(spec)
    write_clip_dataset(root, specs, num_frames=FRAMES)
    for path, (c, frames) in EXTRA.items():
        write_class_clip(osp.join(root, path), c, num_frames=frames)
    with open(osp.join(root, 'README.txt'), 'w') as f:
        f.write('not a video\n')
    frames = {s.path: FRAMES for s in specs}
    frames.update({path: n for path, (_, n) in EXTRA.items()})
    return root, frames


def build(tool, *args) -> int:
    return tool.main([str(a) for a in args])


def lists(out: str, prefix: str) -> dict:
    return {s: read_list(osp.join(out, f'{prefix}_{s}.txt')) for s in SPLITS
            if osp.exists(osp.join(out, f'{prefix}_{s}.txt'))}


def lines(path: str) -> list:
    with open(path) as f:
        return f.read().splitlines()


@pytest.fixture(scope='module')
def ucf_lists(tool, ucf, tmp_path_factory):
    root, _ = ucf
    out = str(tmp_path_factory.mktemp('ucf_lists'))
    assert build(tool, root, '--format', 'class-folders', '--out-dir', out) == 0
    return out


def test_class_folders_lists(ucf, ucf_lists):
    root, frames = ucf
    classes = lines(osp.join(ucf_lists, 'ucfmini_classes.txt'))
    assert classes == sorted(os.listdir(root))[:-1]  # class folders, README.txt last
    built = lists(ucf_lists, 'ucfmini')
    rows = [seg for segs in built.values() for seg in segs]
    assert sorted(seg.video for seg in rows) == sorted(frames)
    for seg in rows:
        assert (seg.start, seg.stop, seg.noun) == (0, frames[seg.video] - 1, -1)
        assert classes[seg.verb] == seg.video.split('/')[0]
        assert seg.narration_id == osp.splitext(osp.basename(seg.video))[0]

    groups = {s: {GROUP.search(seg.video).group(1) for seg in segs
                  if GROUP.search(seg.video)} for s, segs in built.items()}
    assert all(groups.values())
    for a, b in (('train', 'val'), ('train', 'test'), ('val', 'test')):
        assert not groups[a] & groups[b], f'groups {groups[a] & groups[b]} leak'

    totals = Counter(seg.verb for seg in rows)
    summary = json.load(open(osp.join(ucf_lists, 'ucfmini_split.json')))
    for split, ratio in zip(SPLITS, RATIOS):
        counts = Counter(seg.verb for seg in built[split])
        for c, name in enumerate(classes):
            # one group's videos of the class, +1 for an ungrouped extra video
            tolerance = 1.5 * per_group(class_name_to_id(name)) + 1
            assert abs(counts[c] - ratio * totals[c]) <= tolerance, (split, name, counts)
            assert summary['splits'][split]['per_class'][name] == counts[c]
        assert summary['splits'][split]['groups'] == sorted(
            {str(int(g)) for g in groups[split]}, key=int)
    assert summary['seed'] == 0 and summary['split_ratios'] == dict(zip(SPLITS, RATIOS))
    assert summary['group_pattern'] == r'_g(\d+)_'
    assert summary['ignored_files'] == {'.txt': 1}
    assert sum(s['ungrouped'] for s in summary['splits'].values()) == len(EXTRA)


def class_name_to_id(name: str) -> int:
    return next(c for c in range(4) if class_name(c) == name)


def test_frame_counts_match_decoded_frames(ucf, ucf_lists):
    root, _ = ucf
    for segs in lists(ucf_lists, 'ucfmini').values():
        for seg in segs:
            with av.open(osp.join(root, seg.video)) as container:
                decoded = sum(1 for _ in container.decode(video=0))
            assert seg.stop == decoded - 1, seg.video


def test_seed_decides_the_split(tool, ucf, ucf_lists, tmp_path):
    root, _ = ucf
    for seed in (0, 1):
        assert build(tool, root, '--format', 'class-folders', '--seed', seed,
                     '--out-dir', tmp_path / str(seed)) == 0
    for split in SPLITS:
        name = f'ucfmini_{split}.txt'
        assert lines(tmp_path / '0' / name) == lines(osp.join(ucf_lists, name))
    assert any(lines(tmp_path / '1' / f'ucfmini_{s}.txt')
               != lines(tmp_path / '0' / f'ucfmini_{s}.txt') for s in SPLITS)
    assert json.load(open(tmp_path / '1' / 'ucfmini_split.json'))['seed'] == 1


def test_clean_segments_reads_the_lists(tool, ucf, ucf_lists, tmp_path):
    """Counted rows pass unchanged; rows with stop -1 get the probed last frame."""
    root, frames = ucf
    assert build(tool, root, '--format', 'class-folders', '--no-count-frames',
                 '--out-dir', tmp_path / 'uncounted') == 0
    uncounted = lists(tmp_path / 'uncounted', 'ucfmini')
    counted = lists(ucf_lists, 'ucfmini')
    assert all(seg.stop == -1 for segs in uncounted.values() for seg in segs)
    assert [s.video for s in uncounted['val']] == [s.video for s in counted['val']]
    mixed = tmp_path / 'mixed.txt'
    mixed.write_text(''.join(s.to_line() + '\n'
                             for s in counted['train'] + uncounted['val']))
    out = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'clean_segments.py'), mixed,
         '--data-root', root, '--out', tmp_path / 'clean.txt', '--report',
         tmp_path / 'report.json', '--workers', '1', '--no-cache', '--quiet'],
        capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    clean = read_list(tmp_path / 'clean.txt')
    assert clean == counted['train'] + counted['val']
    assert all(seg.stop == frames[seg.video] - 1 for seg in clean)


@pytest.fixture(scope='module')
def hri(tmp_path_factory):
    """HRI30 layout via tools/make_synthetic_clips.py: train/ and unlabelled test/."""
    root = str(tmp_path_factory.mktemp('data') / 'HRImini')
    assert load_tool('make_synthetic_clips').main(
        [root, '--layout', 'filename', '--classes', '3', '--groups', '3', '--clips', '2',
         '--test', '4', '--frames', str(FRAMES)]) == 0
    return root


def test_filename_layout_with_split_folders(tool, hri, tmp_path, capsys):
    assert build(tool, hri, '--format', 'filename', '--label-pattern', HRI_PATTERN,
                 '--split-dir', 'auto=train', '--split-ratios', '0.7', '0.3', '0',
                 '--split-dir', 'test=test', '--unlabelled', 'test',
                 '--out-dir', tmp_path) == 0
    assert 'hrimini_test.txt: 4 videos, unlabelled, from test/' in capsys.readouterr().out
    classes = lines(tmp_path / 'hrimini_classes.txt')
    assert classes == ['CID01', 'CID02', 'CID03']
    built = lists(str(tmp_path), 'hrimini')
    assert sorted(built) == ['test', 'train', 'val']
    assert [(s.video, s.verb, s.noun, s.stop) for s in built['test']] == [
        (f'test/{n:04d}.avi', -1, -1, FRAMES - 1) for n in range(1, 5)]
    truth = json.load(open(osp.join(hri, 'synthetic_truth.json')))
    subjects = {}
    for split in ('train', 'val'):
        for seg in built[split]:
            assert classes[seg.verb] == truth[seg.video] == seg.narration_id[:5]
        subjects[split] = {seg.narration_id.split('_')[1] for seg in built[split]}
    assert subjects['train'] and subjects['val']
    assert not subjects['train'] & subjects['val']
    summary = json.load(open(tmp_path / 'hrimini_split.json'))
    assert summary['splits']['test']['by_ratio'] is False
    assert summary['splits']['val']['groups'] == sorted(subjects['val'])


def test_filename_layout_ratio_split(tool, hri, tmp_path):
    """Default HRI30 pattern: no group, each video its own; stratified within 1."""
    root = osp.join(hri, 'train')
    assert build(tool, root, '--format', 'filename', '--prefix', 'hri',
                 '--out-dir', tmp_path) == 0
    built = lists(str(tmp_path), 'hri')
    assert sorted(built) == sorted(SPLITS)
    for split, ratio in zip(SPLITS, RATIOS):
        counts = Counter(seg.verb for seg in built[split])
        assert all(abs(counts[c] - ratio * 6) <= 1 for c in range(3)), (split, counts)


def _link_tree(root, links: dict) -> str:
    """A root of symlinks: {path under root: existing file or folder}."""
    for path, target in links.items():
        os.makedirs(osp.dirname(osp.join(root, path)), exist_ok=True)
        os.symlink(target, osp.join(root, path))
    return str(root)


def test_classes_file_keeps_ids(tool, ucf, ucf_lists, tmp_path):
    root, _ = ucf
    classes_file = osp.join(ucf_lists, 'ucfmini_classes.txt')
    classes = lines(classes_file)
    subset = _link_tree(tmp_path / 'subset', {c: osp.join(root, c) for c in classes[2:]})
    assert build(tool, subset, '--format', 'class-folders', '--classes', classes_file,
                 '--out-dir', tmp_path / 'a') == 0
    rows = [s for segs in lists(tmp_path / 'a', 'subset').values() for s in segs]
    assert {classes[s.verb] for s in rows} == set(classes[2:])
    assert all(classes[s.verb] == s.video.split('/')[0] for s in rows)
    assert lines(tmp_path / 'a' / 'subset_classes.txt') == classes

    assert build(tool, subset, '--format', 'class-folders',
                 '--out-dir', tmp_path / 'b') == 0
    rows = [s for segs in lists(tmp_path / 'b', 'subset').values() for s in segs]
    assert {s.verb for s in rows} == {0, 1}  # without --classes: numbered afresh


def test_class_folders_with_split_folders(tool, ucf, tmp_path, capsys):
    root, frames = ucf
    one = osp.join(root, next(iter(frames)))
    data = _link_tree(tmp_path / 'data', {'train': root, 'test/v_X_g01_c09.avi': one,
                                          'test/anything.avi': one})
    assert build(tool, data, '--format', 'class-folders', '--split-dir', 'train=train',
                 '--split-dir', 'test=test', '--unlabelled', 'test',
                 '--prefix', 'ucf', '--out-dir', tmp_path / 'out') == 0
    built = lists(tmp_path / 'out', 'ucf')
    assert sorted(built) == ['test', 'train'] and len(built['train']) == len(frames)
    assert {(s.verb, s.noun) for s in built['test']} == {(-1, -1)}
    summary = json.load(open(tmp_path / 'out' / 'ucf_split.json'))
    assert summary['groups_in_several_splits'] == ['1']
    assert 'groups in more than one split folder: 1' in capsys.readouterr().out


def test_extensions_option(tool, ucf, tmp_path):
    root, _ = ucf
    assert build(tool, root, '--format', 'class-folders', '--extensions', 'MP4',
                 '--split-ratios', '1', '0', '0', '--out-dir', tmp_path) == 0
    assert [s.video for s in read_list(tmp_path / 'ucfmini_train.txt')] == [
        p for p in EXTRA if p.endswith('.MP4')]
    assert not osp.exists(tmp_path / 'ucfmini_val.txt')
    ignored = json.load(open(tmp_path / 'ucfmini_split.json'))['ignored_files']
    assert ignored['.txt'] == 1 and ignored['.avi'] > 60


def _error(tool, capsys, *args) -> str:
    assert build(tool, *args) == 2
    err = capsys.readouterr().err
    assert err.startswith('build_annotations.py: error: ') and 'Traceback' not in err
    return err


@pytest.fixture(scope='module')
def clip(ucf):
    root, frames = ucf
    return osp.join(root, next(iter(frames)))


ONE = ['A/v_A_g01_c01.avi']


@pytest.mark.parametrize('paths, args, expect', [
    pytest.param(['A/v_A_g01_c01.avi', 'B/v_A_g01_c01.mp4'], [],
                 ['A/v_A_g01_c01.avi', 'B/v_A_g01_c01.mp4', 'same clip id'],
                 id='duplicate-clip-id'),
    pytest.param(['Bad Class/v_B_g01_c01.avi', 'A/v_A_g02_c01.avi'], [],
                 ['Bad Class/v_B_g01_c01.avi', 'whitespace'], id='whitespace'),
    pytest.param(['loose.avi', 'A/v_A_g01_c01.avi'], [],
                 ['loose.avi', 'outside a class folder'], id='no-class-folder'),
    pytest.param(['A/v_A_g01_c01.avi', 'A/v_A_g02_c01.avi'], [],
                 ['2 group(s) cannot fill 3 splits', 'set a ratio to 0'],
                 id='too-few-groups'),
    pytest.param(ONE, ['--split-ratios', '0.7', '0.2', '0.2'], ['must sum to 1'],
                 id='ratio-sum'),
    pytest.param(ONE, ['--unlabelled', 'test'], ['--split-dir test=FOLDER'],
                 id='unlabelled-without-folder'),
    pytest.param(ONE, ['--split-dir', 'train=A', '--split-ratios', '1', '0', '0'],
                 ['no videos are split by ratio'], id='ratios-unused'),
    pytest.param(ONE, ['--data-root', 'x'], ['--data-root does not apply'],
                 id='epic-option'),
])
def test_class_folder_errors_name_the_cause(tool, clip, tmp_path, capsys, paths, args,
                                            expect):
    data = _link_tree(tmp_path / 'data', {p: clip for p in paths})
    err = _error(tool, capsys, data, '--format', 'class-folders',
                 '--out-dir', tmp_path / 'out', *args)
    for text in expect:
        assert text in err
    out = tmp_path / 'out'
    assert not (out.exists() and any(f.suffix == '.txt' for f in out.iterdir()))


def test_filename_errors_name_the_file(tool, ucf, ucf_lists, hri, tmp_path, capsys):
    err = _error(tool, capsys, hri, '--format', 'filename', '--out-dir', tmp_path)
    assert f"{hri}/test/0001.avi: file name '0001' does not match --label-pattern" in err
    assert r'^(?P<label>CID\d+)_SID\d+_VID\d+$' in err
    assert '--split-dir test=test --unlabelled test' in err

    err = _error(tool, capsys, hri, '--format', 'filename', '--split-dir', 'train=train',
                 '--split-dir', 'test=test', '--out-dir', tmp_path)
    assert 'test/0001.avi' in err and 'add --unlabelled test' in err

    err = _error(tool, capsys, hri, '--format', 'filename', '--label-pattern', 'CID',
                 '--out-dir', tmp_path)
    assert 'needs a named group (?P<label>...)' in err

    classes_file = osp.join(ucf_lists, 'ucfmini_classes.txt')
    err = _error(tool, capsys, osp.join(hri, 'train'), '--format', 'filename',
                 '--classes', classes_file, '--out-dir', tmp_path)
    assert f"{classes_file}: has no class 'CID01'" in err and 'CID01_SID01_VID01.avi' in err

    err = _error(tool, capsys, ucf[0], '--split-ratios', '0.7', '0.15', '0.15')
    assert '--split-ratios does not apply to --format epic' in err
    assert not any(f.endswith('.txt') for f in os.listdir(tmp_path))
