"""tools/build_annotations.py on the official EPIC-100 CSVs and on synthetic data."""
import csv
import json
import os.path as osp
import subprocess
import sys

import pytest

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.timestamps import parse_timestamp
from epic_mmaction.annotations.listfile import read_list
from epic_mmaction.annotations.pairs import PairVocabulary
from epic_mmaction.annotations.records import read_classes
from epic_mmaction.synthetic.generator import narration_events

from ..conftest import REPO

NTSC = 60000 / 1001


def _csv_rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope='module')
def official_lists(official_epic_dir, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('official_lists'))
    summary = build_annotations(BuildOptions(
        annotations_dir=official_epic_dir, out_dir=out, splits=('val', 'test'),
        pairs_from='val'))
    return out, summary


def test_official_counts(official_epic_dir, official_lists):
    out, summary = official_lists
    val = read_list(osp.join(out, 'epic100_val.txt'))
    test = read_list(osp.join(out, 'epic100_test.txt'))
    assert len(val) == 9668 and len(test) == 13092
    assert summary['lists']['val']['rows_dropped'] == {}
    assert len(read_classes(osp.join(official_epic_dir, 'EPIC_100_verb_classes.csv'))) == 97
    assert len(read_classes(osp.join(official_epic_dir, 'EPIC_100_noun_classes.csv'))) == 300
    rows = _csv_rows(osp.join(official_epic_dir, 'EPIC_100_validation.csv'))
    expected_pairs = {(int(r['verb_class']), int(r['noun_class'])) for r in rows}
    vocab = PairVocabulary.load(osp.join(out, 'pairs.json'))
    assert set(vocab.pairs) == expected_pairs and len(vocab) == 1352
    assert all(s.labelled for s in val) and not any(s.labelled for s in test)
    assert [s.narration_id for s in val] == [r['narration_id'] for r in rows]
    meta = json.load(open(osp.join(out, 'epic100_val.meta.json')))
    assert meta['rows_in'] == 9668 and meta['rows_written'] == 9668
    assert meta['fps_sources'] == {'video_info': 138}
    assert meta['notes']['missing narration_timestamp (kept: not needed)'] == 70


def test_official_late_segments_use_real_fps(official_epic_dir, official_lists):
    """Half an hour into P24_09 the raw 60 fps frame numbers are ~2 s late."""
    out, _ = official_lists
    rows = {r['narration_id']: r for r in
            _csv_rows(osp.join(official_epic_dir, 'EPIC_100_validation.csv'))}
    segs = [s for s in read_list(osp.join(out, 'epic100_val.txt'))
            if s.video == 'P24/P24_09.MP4']
    latest = sorted(segs, key=lambda s: s.start)[-5:]
    assert latest[-1].start > 100_000  # > 28 minutes in
    for seg in latest:
        row = rows[seg.narration_id]
        t0 = parse_timestamp(row['start_timestamp'])
        t1 = parse_timestamp(row['stop_timestamp'])
        assert abs(seg.start - t0 * NTSC) <= 1 and abs(seg.stop + 1 - t1 * NTSC) <= 1
        assert int(row['start_frame']) - 1 - seg.start > 90  # raw numbers drift
    seg = next(s for s in segs if s.narration_id == 'P24_09_99')
    assert abs(seg.start - 801.84 * NTSC) <= 1  # 00:13:21.84 -> 48062


def test_official_csv_frames_mode_agrees(official_epic_dir, tmp_path):
    """Rescaled CSV frame columns land within 2 frames of the timestamps."""
    build_annotations(BuildOptions(annotations_dir=official_epic_dir,
                                   out_dir=str(tmp_path), splits=('val', 'test'),
                                   pairs_from='none', frame_source='csv_frames',
                                   prefix='frames'))
    build_annotations(BuildOptions(annotations_dir=official_epic_dir,
                                   out_dir=str(tmp_path), splits=('val', 'test'),
                                   pairs_from='none', prefix='times'))
    for split in ('val', 'test'):
        by_frames = read_list(osp.join(tmp_path, f'frames_{split}.txt'))
        by_times = read_list(osp.join(tmp_path, f'times_{split}.txt'))
        worst = max(max(abs(a.start - b.start), abs(a.stop - b.stop))
                    for a, b in zip(by_frames, by_times))
        assert worst <= 2, split
    assert not osp.exists(osp.join(tmp_path, 'pairs.json'))


@pytest.mark.parametrize('fps_source', ['file', 'video_info'])
def test_synthetic_lists_match_truth_exactly(small_epic, tmp_path, fps_source):
    root, plans, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path),
                                   data_root=osp.join(root, 'videos'),
                                   fps_source=fps_source))
    truth = narration_events(plans)
    for split in ('train', 'val', 'test'):
        segs = read_list(osp.join(tmp_path, f'epic100_{split}.txt'))
        assert segs
        for seg in segs:
            plan, event = truth[seg.narration_id]
            assert seg.video == plan.rel_path
            assert (seg.start, seg.stop) == (event.start, event.stop)
            if split == 'test':
                assert (seg.verb, seg.noun) == (-1, -1)
            else:
                assert (seg.verb, seg.noun) == (event.verb, event.noun)
        meta = json.load(open(osp.join(tmp_path, f'epic100_{split}.meta.json')))
        assert set(meta['fps_sources']) == {fps_source}


def test_synthetic_quirks_dropped_with_reasons(small_epic, tmp_path):
    root, plans, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    meta = json.load(open(osp.join(tmp_path, 'epic100_train.meta.json')))
    n_train = sum(p.split == 'train' for p in plans)
    assert meta['rows_dropped'] == {'zero-length range': n_train,
                                    'reversed range (stop before start)': n_train}
    assert meta['rows_in'] == meta['rows_written'] + 2 * n_train
    assert meta['notes'] == {'missing narration_timestamp (kept: not needed)': n_train}


def test_fps_flag_when_nothing_else_knows(small_epic, tmp_path):
    root, plans, _ = small_epic
    # no video root, video info pointing elsewhere: only --fps is left
    empty_info = tmp_path / 'info.csv'
    empty_info.write_text('video_id,duration,fps,resolution\n')
    with pytest.raises(ValueError, match='no fps for video'):
        build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path),
                                       video_info=str(empty_info), splits=('val',),
                                       pairs_from='val'))
    summary = build_annotations(BuildOptions(
        annotations_dir=root, out_dir=str(tmp_path), video_info=str(empty_info),
        fps=25.0, splits=('val',), pairs_from='val'))
    assert summary['lists']['val']['fps_sources'] == {'flag': 2}


def test_pairs_shared_and_unseen_pairs_kept(small_epic, tmp_path):
    root, _, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    vocab = PairVocabulary.load(osp.join(tmp_path, 'pairs.json'))
    train = read_list(osp.join(tmp_path, 'epic100_train.txt'))
    val = read_list(osp.join(tmp_path, 'epic100_val.txt'))
    assert set(vocab.pairs) == {(s.verb, s.noun) for s in train}
    unseen = [s for s in val if (s.verb, s.noun) not in vocab]
    assert unseen, 'the synthetic val split should have pairs unseen in train'
    meta = json.load(open(osp.join(tmp_path, 'epic100_val.meta.json')))
    assert meta['pairs_not_in_vocabulary'] == len(unseen)
    assert meta['rows_written'] == len(val)
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path),
                                   pairs_from='train+val'))
    both = PairVocabulary.load(osp.join(tmp_path, 'pairs.json'))
    assert set(both.pairs) == set(vocab.pairs) | {(s.verb, s.noun) for s in val}


@pytest.mark.parametrize('by', ['video', 'participant'])
def test_holdout_split_is_disjoint_and_seeded(small_epic, tmp_path, by):
    root, _, _ = small_epic
    opts = dict(annotations_dir=root, splits=('train',), holdout_by=by,
                holdout_fraction=0.34, seed=1)
    build_annotations(BuildOptions(out_dir=str(tmp_path / 'a'), **opts))
    build_annotations(BuildOptions(out_dir=str(tmp_path / 'b'), **opts))
    full = build_annotations(BuildOptions(annotations_dir=root, splits=('train',),
                                          out_dir=str(tmp_path / 'c')))
    train = read_list(tmp_path / 'a' / 'epic100_train.txt')
    held = read_list(tmp_path / 'a' / 'epic100_holdout.txt')
    key = (lambda s: s.video) if by == 'video' else (lambda s: s.participant_id)
    assert train and held and not {key(s) for s in train} & {key(s) for s in held}
    assert len(train) + len(held) == full['lists']['train']['rows_written']
    assert held == read_list(tmp_path / 'b' / 'epic100_holdout.txt')
    vocab = PairVocabulary.load(tmp_path / 'a' / 'pairs.json')
    assert set(vocab.pairs) == {(s.verb, s.noun) for s in train}


def _run_tool(*args):
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', 'build_annotations.py'),
                           *map(str, args)], capture_output=True, text=True, cwd=REPO)


def test_cli_reports_and_bad_rows_name_file_and_line(small_epic, tmp_path):
    root, _, _ = small_epic
    out = _run_tool(root, '--out-dir', tmp_path / 'ok', '--data-root',
                    osp.join(root, 'videos'))
    assert out.returncode == 0, out.stderr
    assert 'zero-length range' in out.stdout and 'pairs.json' in out.stdout

    bad = tmp_path / 'bad'
    bad.mkdir()
    rows = _csv_rows(osp.join(root, 'EPIC_100_validation.csv'))
    rows[2]['start_timestamp'] = '00:xx:01.00'  # line 4, after the header
    with open(bad / 'EPIC_100_validation.csv', 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out = _run_tool(bad, '--splits', 'val', '--pairs-from', 'val', '--fps', '30',
                    '--out-dir', tmp_path / 'bad_out')
    assert out.returncode == 2
    assert 'EPIC_100_validation.csv:4' in out.stderr and 'HH:MM:SS' in out.stderr
    assert 'Traceback' not in out.stderr
    assert not osp.exists(tmp_path / 'bad_out' / 'epic100_val.txt')

    out = _run_tool(root, '--splits', 'val', '--out-dir', tmp_path / 'x')
    assert out.returncode == 2 and '--pairs-from train' in out.stderr
