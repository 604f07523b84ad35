"""The synthetic EPIC generator: official formats, determinism, readable codes."""
import csv
import filecmp
import json
import os.path as osp
import re
import subprocess
import sys
from fractions import Fraction

import decord
import numpy as np
import pytest

from epic_mmaction.annotations.timestamps import parse_timestamp
from epic_mmaction.synthetic.framecode import (FrameCodeError, draw_frame_code,
                                               read_frame_code, read_frame_codes)
from epic_mmaction.synthetic.generator import (CSV_NAMES, SyntheticConfig,
                                               fps_fraction, generate, plan_dataset)
from epic_mmaction.synthetic.scene import MAX_TRAVEL, VERBS, max_event_seconds, pose_at

from ..conftest import REPO


def _header(path):
    with open(path, newline='') as f:
        return next(csv.reader(f))


def _rows(path):
    with open(path, newline='') as f:
        return list(csv.DictReader(f))


def test_csv_columns_match_the_official_files(small_epic, official_epic_dir):
    root, _, _ = small_epic
    names = list(CSV_NAMES.values()) + ['EPIC_100_verb_classes.csv',
                                        'EPIC_100_noun_classes.csv',
                                        'EPIC_100_video_info.csv']
    for name in names:
        official = osp.join(official_epic_dir, name)
        if name == 'EPIC_100_train.csv':  # not shipped here: same as validation
            official = osp.join(official_epic_dir, 'EPIC_100_validation.csv')
        assert _header(osp.join(root, name)) == _header(official), name


def test_annotation_values_follow_epic_conventions(small_epic):
    root, plans, _ = small_epic
    ts = re.compile(r'^\d{2}:\d{2}:\d{2}\.\d{2}$')
    for split, name in CSV_NAMES.items():
        for row in _rows(osp.join(root, name)):
            assert ts.match(row['start_timestamp']) and ts.match(row['stop_timestamp'])
            nominal = 50 if len(row['video_id'].split('_')[1]) == 3 else 60
            start = parse_timestamp(row['start_timestamp'])
            if row['narration_id'].split('_')[-1] in ('0',):
                assert int(row['start_frame']) == 1  # EPIC's frame 1
            if parse_timestamp(row['stop_timestamp']) > start:
                # EPIC's frame columns count at 60 (PXX_YY) or 50 (PXX_1YY) fps
                assert abs(int(row['start_frame']) - start * nominal) <= 1.01
    info = {r['video_id']: r for r in _rows(osp.join(root, 'EPIC_100_video_info.csv'))}
    for plan in plans:
        video = osp.join(root, 'videos', plan.rel_path)
        reader = decord.VideoReader(video)
        assert len(reader) == plan.num_frames
        assert reader.get_avg_fps() == pytest.approx(float(plan.fps), abs=1e-6)
        assert float(info[plan.video_id]['fps']) == pytest.approx(float(plan.fps))
        # PXX_1YY videos are the 50 fps ones by default, as in EPIC-100
        assert (plan.nominal_fps == 50) == (len(plan.video_id.split('_')[1]) == 3)


def test_events_alternate_and_distractors_differ(small_epic):
    _, plans, _ = small_epic
    for plan in plans:
        events = plan.events
        assert events[0].start == 0 and events[-1].stop == plan.num_frames - 1
        assert plan.annotated[0] and plan.annotated[-1]
        for a, b in zip(events, events[1:]):
            assert b.start == a.stop + 1
            assert a.verb != b.verb and a.noun != b.noun  # wrong range, wrong label


def test_every_frame_code_reads_back(small_epic):
    root, plans, _ = small_epic
    reader = decord.VideoReader(osp.join(root, 'videos', plans[0].rel_path))
    inds = np.arange(len(reader))
    np.testing.assert_array_equal(read_frame_codes(reader.get_batch(inds).asnumpy()), inds)


def test_frame_code_round_trip_and_rejects_garbage():
    img = np.full((72, 128, 3), 120, np.uint8)
    for index in (0, 1, 12345, 215_783, 2 ** 24 - 1):
        assert read_frame_code(draw_frame_code(img.copy(), index)) == index
    with pytest.raises(FrameCodeError, match='grey'):
        read_frame_code(img)  # no code at all
    coded = draw_frame_code(img.copy(), 4242)
    coded[:4, :8] = 255 - coded[:4, :8]  # flip the lowest bit's block
    with pytest.raises(FrameCodeError, match='check failed'):
        read_frame_code(coded)
    with pytest.raises(ValueError):
        draw_frame_code(img.copy(), 2 ** 24)


def test_fps_fractions():
    assert fps_fraction(59.94) == fps_fraction(59.9400599) == Fraction(60000, 1001)
    assert fps_fraction(29.97).denominator == 1001 and fps_fraction(50) == 50


def test_same_seed_same_dataset(tmp_path):
    cfg = SyntheticConfig(videos={'train': 1, 'validation': 1, 'test': 1},
                          duration=4, width=128, height=72, seed=11)
    generate(str(tmp_path / 'a'), cfg)
    generate(str(tmp_path / 'b'), cfg)
    for name in [*CSV_NAMES.values(), 'synthetic_truth.json']:
        assert filecmp.cmp(tmp_path / 'a' / name, tmp_path / 'b' / name, shallow=False)
    truth = json.load(open(tmp_path / 'a' / 'synthetic_truth.json'))
    assert len(truth['videos']) == 3
    for video in (v['path'] for v in truth['videos']):
        a = decord.VideoReader(str(tmp_path / 'a' / 'videos' / video))
        b = decord.VideoReader(str(tmp_path / 'b' / 'videos' / video))
        idx = list(range(0, len(a), 7))
        np.testing.assert_array_equal(a.get_batch(idx).asnumpy(), b.get_batch(idx).asnumpy())
    other = SyntheticConfig(**{**cfg.__dict__, 'seed': 12})
    generate(str(tmp_path / 'c'), other)
    assert not filecmp.cmp(tmp_path / 'a' / 'EPIC_100_train.csv',
                           tmp_path / 'c' / 'EPIC_100_train.csv', shallow=False)


def test_cli_options(tmp_path):
    out = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'make_synthetic_epic.py'), str(tmp_path),
         '--videos', '1', '0', '1', '--duration', '3', '--fps', '30', '--size', '128x72',
         '--gop', '12', '--bframes', '0', '--no-quirks', '--faststart', '--seed', '5',
         '--move-speed', '1.2', '--turn-speed', '300', '--reproducible'],
        capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    truth = json.load(open(tmp_path / 'synthetic_truth.json'))
    assert truth['config']['gop'] == 12 and truth['config']['bframes'] == 0
    assert (truth['config']['move_speed'], truth['config']['turn_speed']) == (1.2, 300)
    assert truth['config']['reproducible'] is True
    assert {e['move_speed'] for e in truth['videos'][0]['events']} == {1.2}
    import av
    with av.open(str(tmp_path / 'videos' / 'P01' / 'P01_01.MP4')) as c:
        stream = c.streams.video[0]
        assert (stream.width, stream.height) == (128, 72) and stream.average_rate == 30
        keyframes = [round(p.pts * stream.time_base * 30) for p in c.demux(stream)
                     if p.is_keyframe and p.pts is not None]
        assert keyframes[:3] == [0, 12, 24]
        assert stream.codec_context.has_b_frames is False
    bad = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'make_synthetic_epic.py'),
                          str(tmp_path / 'x'), '--size', '127x72'],
                         capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and 'even sizes' in bad.stderr


def test_reproducible_videos_are_the_same_bytes(tmp_path):
    """--reproducible (x264 without assembly) makes the videos themselves
    reproducible, not only their decoded frames: two fps, several videos per
    process, as in `make demo`."""
    cfg = SyntheticConfig(videos={'train': 3, 'validation': 1, 'test': 0}, duration=3,
                          width=96, height=96, object_scale=0.35, reproducible=True)
    generate(str(tmp_path / 'a'), cfg)
    generate(str(tmp_path / 'b'), cfg, workers=2)
    truth = json.load(open(tmp_path / 'a' / 'synthetic_truth.json'))
    assert truth['config']['reproducible'] is True
    for video in (v['path'] for v in truth['videos']):
        assert filecmp.cmp(tmp_path / 'a' / 'videos' / video,
                           tmp_path / 'b' / 'videos' / video, shallow=False), video


def test_move_speed_shortens_events_and_moves_faster():
    """Faster moves: every event short enough for its move to stay inside the
    frame, and the sprite covers move_speed of the free area per second."""
    fast = SyntheticConfig(videos={'train': 2}, duration=20, move_speed=1.8,
                           turn_speed=500.0)
    plans = plan_dataset(fast)
    for plan in plans:
        fps = float(plan.fps)
        for event in plan.events:
            seconds = (event.stop - event.start) / fps  # first to last frame
            if event is not plan.events[-1]:  # the last one may take a stub
                assert seconds <= max_event_seconds(1.8)
            assert (event.move_speed, event.turn_speed) == (1.8, 500.0)
            x0, y0, a0 = pose_at(event, event.start, fps)
            x1, y1, a1 = pose_at(event, event.stop, fps)
            if VERBS[event.verb].startswith('move'):
                travel = min(1.8 * seconds, MAX_TRAVEL)
                assert abs(abs(x1 - x0) + abs(y1 - y0) - travel) < 1e-6
                assert 0.0 <= min(x0, x1, y0, y1) and max(x0, x1, y0, y1) <= 1.0
            else:
                assert abs(abs(a1 - a0) - 500.0 * seconds) < 1e-6
    default = sum(len(p.events) for p in plan_dataset(
        SyntheticConfig(videos={'train': 2}, duration=20)))
    assert sum(len(p.events) for p in plans) > 1.5 * default  # more events per second
