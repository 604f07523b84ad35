"""The loading benchmark: specs, clip drawing, frame checks and the real CLI."""
import json
import os.path as osp
import subprocess
import sys

import av
import numpy as np
import pytest

from benchmark.loaders import LOADERS, build_loader
from benchmark.loading import check_clip, video_info
from benchmark.schemes import (SCHEMES, Clip, draw_clips, draw_segments,
                                             parse_schemes)
from benchmark.videos import VideoSpec, write_benchmark_video
from epic_mmaction.synthetic.framecode import read_frame_codes

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.mark.parametrize('text,expect', [
    ('640x360@59.94:10m:gop250', (640, 360, 59.94, 600.0, 250, 35964)),
    ('1920x1080@50:90s:gop32', (1920, 1080, 50.0, 90.0, 32, 4500)),
    ('160x96@30:2s:gop1', (160, 96, 30.0, 2.0, 1, 60)),
])
def test_video_spec_parse(text, expect):
    spec = VideoSpec.parse(text)
    assert (spec.width, spec.height, spec.fps, spec.seconds, spec.gop,
            spec.num_frames) == expect
    assert VideoSpec.parse(str(spec)) == spec


@pytest.mark.parametrize('text', ['640x360', '640x360@59.94:10h:gop250',
                                  '641x360@50:1m:gop10', '32x32@50:1m:gop10',
                                  '640x360@50:1m:gop0'])
def test_video_spec_rejects(text):
    with pytest.raises(ValueError, match='bad video spec'):
        VideoSpec.parse(text)


def test_segments_and_clips_stay_inside_the_video():
    rng = np.random.default_rng(0)
    for num_frames, fps in [(36000, 59.94), (100, 50.0), (1, 30.0)]:
        for start, stop in draw_segments(num_frames, fps, 200, rng):
            assert 0 <= start <= stop < num_frames
            assert stop - start + 1 <= max(1, round(30 * fps))
    for scheme in parse_schemes(list(SCHEMES)):
        clips = draw_clips(['a', 'b'], [3000, 40], [59.94, 50.0], scheme, 50, seed=1)
        assert clips == draw_clips(['a', 'b'], [3000, 40], [59.94, 50.0], scheme, 50,
                                   seed=1)
        for c in clips:
            assert all(c.start <= i <= c.stop for i in c.frame_inds)
    with pytest.raises(ValueError, match='unknown sampling scheme'):
        parse_schemes(['i3d'])


@pytest.fixture(scope='module')
def bench_video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('bench') / 'v.mp4')
    return write_benchmark_video(path, VideoSpec.parse('128x72@59.94:12s:gop30'))


def test_generated_video_has_codes_gop_and_rate(bench_video):
    frames, fps, w, h = video_info(bench_video)
    assert (frames, round(fps, 2), w, h) == (719, 59.94, 128, 72)
    with av.open(bench_video) as c:
        entries = c.streams.video[0].index_entries
        keys = [i for i in range(len(entries)) if entries[i].is_keyframe]
        imgs = [f.reformat(format='rgb24').to_ndarray()
                for _, f in zip(range(40), c.decode(video=0))]
    assert keys == list(range(0, frames, 30))
    np.testing.assert_array_equal(read_frame_codes(imgs), np.arange(40))


def test_every_loader_decodes_the_clip_and_checks_catch_a_shift(bench_video):
    scheme = SCHEMES['x3d_13x6']
    clip, = draw_clips([bench_video], [719], [59.94], scheme, 1, seed=3)
    for name in LOADERS:
        frames = build_loader(name).load(clip)
        if name == 'lower_bound':
            assert frames is None and check_clip(frames, clip) is None
            continue
        assert check_clip(frames, clip) is True, name
        shifted = Clip(clip.path, clip.start, clip.stop,
                       tuple(i + 1 for i in clip.frame_inds))
        assert check_clip(frames, shifted) is False
    assert check_clip(np.full((2, 72, 128, 3), 128, np.uint8), clip) is None


@pytest.mark.slow
def test_cli_prints_tables_with_ratios_and_json(bench_video, tmp_path):
    out_json, out_md = tmp_path / 'rows.json', tmp_path / 'table.md'
    cmd = [sys.executable, 'tools/benchmark_loading.py', bench_video, '--workers', '1',
           '2', '--clips-per-worker', '3', '--schemes', 'x3d_13x6', 'tsm_8uniform',
           '--distinct', '8', '--out-json', str(out_json), '--out-md', str(out_md)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out_json.read_text())
    rows = data['rows']
    assert len(rows) == len(LOADERS) * 2 * 2
    for r in rows:
        assert r['clips'] == 3 * r['workers'] and r['clips_per_s'] > 0
        assert r['wrong'] == 0
        assert r['checked'] == (0 if r['loader'] == 'lower_bound' else r['clips'])
        assert r['median_ms'] <= r['p95_ms']
    table = out_md.read_text()
    assert table in proc.stdout
    assert '| x3d_13x6 | 2 | lower_bound |' in table
    bound_rows = [line for line in table.splitlines() if '| lower_bound |' in line]
    assert all('| 1.00x |' in line for line in bound_rows)
    assert '128x72, 59.94 fps' in table


def test_cli_errors(tmp_path):
    for args, msg in [(['missing.mp4'], 'video missing.mp4 does not exist'),
                      (['--generate', '640x360'], 'bad video spec')]:
        proc = subprocess.run([sys.executable, 'tools/benchmark_loading.py', *args],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
        assert proc.returncode != 0 and msg in proc.stderr
