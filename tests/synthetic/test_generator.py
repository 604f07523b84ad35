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
                                               fps_fraction, generate)

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
         '--gop', '12', '--bframes', '0', '--no-quirks', '--faststart', '--seed', '5'],
        capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0, out.stderr
    truth = json.load(open(tmp_path / 'synthetic_truth.json'))
    assert truth['config']['gop'] == 12 and truth['config']['bframes'] == 0
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
