"""Frame i is the i-th frame ffmpeg outputs, on real irregular files.

Every file is written with PyAV/libx264 with timestamps set as cameras and
cutting tools leave them; every frame set read with ``PyAVVideoReader`` is
compared, by frame code, to a sequential libav decode of the same file.
"""
import os
from fractions import Fraction

import av
import numpy as np
import pytest

from epic_mmaction.synthetic.framecode import read_frame_codes
from epic_mmaction.video import PyAVVideoReader, VideoReadError
from tests.video.irregular import (OPEN_GOP, frame_sets, sequential_codes,
                                   stream_copy_cut, write_video)

NTSC = Fraction(1, 60000)  # 59.94 fps: one frame is 1001 ticks


def _check_against_ffmpeg(path, around=(), seed=0):
    ref = sequential_codes(path)
    reader = PyAVVideoReader(path)
    assert len(reader) == len(ref)
    for inds in frame_sets(len(ref), seed, around):
        codes = read_frame_codes(reader.get_batch(inds).asnumpy())
        np.testing.assert_array_equal(codes, ref[inds], err_msg=f'{path} {inds}')
    # a fresh reader per set too: the first seek of a reader is the common case
    for inds in frame_sets(len(ref), seed + 1, around)[1:8]:
        codes = read_frame_codes(PyAVVideoReader(path).get_batch(inds).asnumpy())
        np.testing.assert_array_equal(codes, ref[inds], err_msg=f'{path} {inds}')
    return reader, ref


def test_dropped_frame(tmp_path):
    """59.94 fps with one slot skipped at frame 100: every frame after the gap reads."""
    path = str(tmp_path / 'dropped.mp4')
    n, gap = 200, 100
    pts = [1001 * (i + (i >= gap)) for i in range(n)]
    write_video(path, pts, NTSC, Fraction(60000, 1001))
    reader, ref = _check_against_ffmpeg(path, around=[gap])
    np.testing.assert_array_equal(ref, np.arange(n))
    assert reader.get_avg_fps() == pytest.approx(59.94, abs=0.5)


def test_jittered_timestamps(tmp_path):
    """±3 ms of timestamp jitter around the 59.94 fps grid."""
    path = str(tmp_path / 'jitter.mp4')
    rng = np.random.default_rng(1)
    pts = [1001 * i + int(rng.integers(-180, 181)) + 180 for i in range(150)]
    write_video(path, pts, NTSC, Fraction(60000, 1001))
    _check_against_ffmpeg(path, around=[40, 75])


def test_duplicated_timestamps(tmp_path):
    """Frames sharing a timestamp (Matroska allows it): both are frames."""
    path = str(tmp_path / 'dup.mkv')
    pts = []
    for i in range(120):
        pts.append(pts[-1] if i in (30, 31, 77) else i)
    write_video(path, pts, Fraction(1, 50), 50, fmt='matroska')
    reader, ref = _check_against_ffmpeg(path, around=[30, 77])
    assert len(ref) == 120


def test_late_first_timestamp(tmp_path):
    """The first frame at 2.5 s (a cut that kept its timestamps)."""
    path = str(tmp_path / 'late.mp4')
    write_video(path, [int(2.5 * 60000) + 1001 * i for i in range(120)], NTSC,
                Fraction(60000, 1001))
    _check_against_ffmpeg(path, around=[60])


def test_open_gop_with_b_pyramid(tmp_path):
    path = str(tmp_path / 'opengop.mp4')
    write_video(path, list(range(150)), Fraction(1, 50), 50, OPEN_GOP)
    with av.open(path) as c:  # the file really has leading B-frames
        packets = [p for p in c.demux(video=0) if p.pts is not None]
    keys = [i for i, p in enumerate(packets) if p.is_keyframe]
    assert len(keys) > 3 and any(packets[k + 1].pts < packets[k].pts for k in keys[1:])
    _check_against_ffmpeg(path, around=[24, 47, 48, 49, 72])


def _open_gop_keyframes(path):
    """Frame numbers of keyframes that leading B-frames follow in decode order."""
    with av.open(path) as c:
        packets = [p for p in c.demux(video=0) if p.pts is not None]
    order = sorted(p.pts for p in packets)
    return [order.index(p.pts) for p, q in zip(packets, packets[1:])
            if p.is_keyframe and q.pts < p.pts]


@pytest.mark.parametrize('where', ['mid_gop', 'open_keyframe'])
def test_edit_listed_cut(tmp_path, where):
    """A stream-copied cut starting mid-GOP, or at an open GOP's keyframe (its
    leading B-frames come before the cut): libav discards the packets before
    the edit start, and so does the reader."""
    src, path = str(tmp_path / 'src.mp4'), str(tmp_path / f'{where}.mp4')
    write_video(src, list(range(150)), Fraction(1, 50), 50, OPEN_GOP)
    cut = 37 if where == 'mid_gop' else _open_gop_keyframes(src)[0]
    stream_copy_cut(src, path, cut)
    with av.open(path) as c:
        assert any(p.is_discard for p in c.demux(video=0))  # an edit list is in play
    reader, ref = _check_against_ffmpeg(path, around=[0, 11, 12, 24])
    assert ref[0] == cut and ref[-1] == 149


@pytest.mark.parametrize('rate', [Fraction(50), Fraction(30000, 1001)])
def test_constant_rates(tmp_path, rate):
    path = str(tmp_path / f'cfr{float(rate):.0f}.mp4')
    tb = 1 / rate
    write_video(path, list(range(130)), tb, rate)
    reader, _ = _check_against_ffmpeg(path, around=[64])
    assert reader.get_avg_fps() == pytest.approx(float(rate))


def test_audio_first(tmp_path):
    """Audio packets ahead of the first video packet."""
    path = str(tmp_path / 'audio_first.mp4')
    write_video(path, list(range(100)), Fraction(1, 50), 50, audio_first=1.0)
    _check_against_ffmpeg(path, around=[50])


def test_ten_bit_hevc(tmp_path):
    if 'libx265' not in av.codecs_available:
        if os.environ.get('CI'):  # PyAV's wheels have it: CI always runs this test
            pytest.fail('no libx265 in this FFmpeg: install PyAV from its wheel')
        pytest.skip('no libx265 in this FFmpeg')
    path = str(tmp_path / 'hevc10.mp4')
    write_video(path, [1001 * i for i in range(90)], NTSC, Fraction(60000, 1001),
                {'x265-params': 'keyint=24:min-keyint=24:scenecut=0:log-level=error'},
                codec='libx265', pix_fmt='yuv420p10le')
    _check_against_ffmpeg(path, around=[45])


def test_ten_bit_h264_with_jitter(tmp_path):
    path = str(tmp_path / 'h264_10.mp4')
    rng = np.random.default_rng(3)
    write_video(path, [1001 * i + int(rng.integers(0, 120)) for i in range(90)], NTSC,
                Fraction(60000, 1001), pix_fmt='yuv420p10le')
    _check_against_ffmpeg(path, around=[45])


def test_truncated_download_reads_what_ffmpeg_outputs(tmp_path):
    """A cut-off faststart MP4: the index ends where whole packets do."""
    src, path = str(tmp_path / 'full.mp4'), tmp_path / 'cut.mp4'
    write_video(src, list(range(200)), Fraction(1, 50), 50)
    fast = str(tmp_path / 'fast.mp4')
    with av.open(src) as s_in, av.open(fast, 'w', format='mp4',
                                       options={'movflags': 'faststart'}) as s_out:
        vout = s_out.add_stream_from_template(s_in.streams.video[0])
        for packet in s_in.demux(video=0):
            if packet.dts is not None:
                packet.stream = vout
                s_out.mux(packet)
    data = open(fast, 'rb').read()
    path.write_bytes(data[:len(data) * 2 // 3])
    ref = sequential_codes(str(path))  # ffmpeg skips the cut-off last packet
    reader = PyAVVideoReader(str(path))
    assert 0 < len(reader) == len(ref) < 200
    for inds in frame_sets(len(ref), 0, [len(ref) - 1]):
        np.testing.assert_array_equal(
            read_frame_codes(reader.get_batch(inds).asnumpy()), ref[inds])
    with pytest.raises(VideoReadError, match=rf'cut\.mp4: frames .* the video has {len(ref)}'):
        reader.get_batch([len(ref)])
