"""PyAVVideoReader against decord on real H.264 files: same frames, local decoding."""
import os.path as osp
from fractions import Fraction

import av
import decord
import numpy as np
import pytest

from epic_mmaction.synthetic.framecode import draw_frame_code, read_frame_codes
from epic_mmaction.video import PyAVVideoReader, VideoReadError, open_video_reader
from tests.video.irregular import sequential_codes


def _videos(small_epic):
    root, plans, _ = small_epic
    return [(osp.join(root, 'videos', p.rel_path), p) for p in plans]


def test_same_frames_and_pixels_as_decord(small_epic):
    """Random, repeated, unordered and edge indices; 59.94 and 50 fps; B-frames."""
    rng = np.random.default_rng(0)
    fps_seen = set()
    for path, plan in _videos(small_epic)[:4]:
        ours, ref = PyAVVideoReader(path), decord.VideoReader(path, num_threads=1)
        assert len(ours) == len(ref) == plan.num_frames
        assert ours.get_avg_fps() == pytest.approx(ref.get_avg_fps(), abs=1e-9)
        fps_seen.add(round(ours.get_avg_fps(), 2))
        n = len(ours)
        batches = [[0], [n - 1], [n - 3, n - 1, n - 2], [5, 5, 3],
                   sorted(rng.integers(0, n, 6).tolist()),
                   rng.integers(0, n, 6).tolist()]
        start = int(rng.integers(0, n - 80))
        batches.append(list(range(start, start + 78, 6)))
        for inds in batches:
            frames = ours.get_batch(inds).asnumpy()
            np.testing.assert_array_equal(read_frame_codes(frames), inds)
            np.testing.assert_array_equal(frames, ref.get_batch(inds).asnumpy())
    assert fps_seen == {59.94, 50.0}


def test_decodes_only_from_the_keyframe_before_the_clip(small_epic):
    path, _ = _videos(small_epic)[0]
    reader = PyAVVideoReader(path)
    gop = reader.keyframe_interval
    assert gop == 250  # the generator's GOP, read from the container index
    inds = list(range(700, 778, 6))  # 700 .. 772
    reader.get_batch(inds)
    assert reader.seeks == 1  # keyframe 750, 6 frames past 744: decode through
    assert reader.decoded == 772 - 500 + 1  # keyframe 500 .. last sampled frame
    before = reader.decoded
    reader.get_batch([790, 800])  # just ahead, same GOP: no seek, decode on
    assert reader.seeks == 1 and reader.decoded == before + 800 - 772
    reader.get_batch([760])  # behind: seek back to keyframe 750
    assert reader.seeks == 2 and reader.decoded == before + 28 + 760 - 750 + 1
    reader.get_batch([1100])  # keyframe 1000 ahead: seek, not 340 frames of decoding
    assert reader.seeks == 3 and reader.decoded == before + 28 + 11 + 1100 - 1000 + 1
    before = reader.decoded
    reader.get_batch([1110, 1150])  # ahead, no keyframe in between: decode on
    assert reader.seeks == 3 and reader.decoded == before + 50


def _write(path, pts_list, time_base, rate, size=(96, 64)):
    with av.open(path, 'w', format='mp4') as c:
        s = c.add_stream('libx264', rate=rate)
        s.width, s.height = size
        s.pix_fmt = 'yuv420p'
        s.codec_context.time_base = time_base
        s.options = {'bf': '0'}
        for i, pts in enumerate(pts_list):
            img = np.full((size[1], size[0], 3), 90, np.uint8)
            draw_frame_code(img, i)
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            frame.pts = pts
            c.mux(s.encode(frame))
        c.mux(s.encode())


def test_off_grid_and_missing_frames_read_as_ffmpeg_numbers_them(tmp_path):
    """Timestamps off the nominal grid and a dropped frame: frame i is the
    i-th frame decoded, not the frame at start + i / fps (once an error)."""
    for name, pts, tb in [
            ('vfr.mp4', [round(1000 * (i / 30 + (0.012 if i % 5 == 3 else 0)))
                         for i in range(60)], Fraction(1, 1000)),
            ('gap.mp4', [0, 1, 2, 4, 5, 6, 7, 8], Fraction(1, 30))]:
        path = str(tmp_path / name)
        _write(path, pts, tb, 30)
        reader = PyAVVideoReader(path)
        assert len(reader) == len(pts)
        inds = list(range(len(pts)))[::-1]
        np.testing.assert_array_equal(read_frame_codes(reader.get_batch(inds).asnumpy()),
                                      inds)


def test_bad_files_and_indices_name_the_video(tmp_path, small_epic):
    junk = tmp_path / 'junk.MP4'
    junk.write_bytes(np.random.default_rng(0).bytes(20_000))
    for backend in ('pyav', 'decord'):
        with pytest.raises(VideoReadError, match=r'cannot open video .*junk\.MP4'):
            open_video_reader(str(junk), backend)
    with pytest.raises(ValueError, match='unknown video backend'):
        open_video_reader(str(junk), 'opencv')
    path, plan = _videos(small_epic)[0]
    reader = PyAVVideoReader(path)
    with pytest.raises(VideoReadError, match=f'the video has {plan.num_frames}'):
        reader.get_batch([plan.num_frames])


def test_truncated_file_ends_where_its_data_does(tmp_path, small_epic):
    """The container declares frames the file no longer holds (faststart MP4):
    the reader counts the frames a decode outputs, and reads them all."""
    src = tmp_path / 'full'
    from epic_mmaction.synthetic.generator import SyntheticConfig, generate
    cfg = SyntheticConfig(videos={'train': 1, 'validation': 0, 'test': 0},
                          duration=8, width=96, height=64, faststart=True, seed=5)
    plan, = generate(str(src), cfg, workers=1)
    data = (src / 'videos' / plan.rel_path).read_bytes()
    cut = tmp_path / 'cut.mp4'
    cut.write_bytes(data[:len(data) // 2])
    reader = PyAVVideoReader(str(cut))
    n = len(reader)
    # the cut may keep a reference frame past a lost B-frame: compare with
    # what ffmpeg outputs, not with 0..n-1
    ref = sequential_codes(str(cut))
    assert 0 < n == len(ref) < plan.num_frames
    inds = [1, 2, n - 3, n - 2, n - 1]
    np.testing.assert_array_equal(read_frame_codes(reader.get_batch(inds).asnumpy()),
                                  ref[inds])
    with pytest.raises(VideoReadError, match=rf'cut\.mp4: .*the video has {n}'):
        reader.get_batch([n])
