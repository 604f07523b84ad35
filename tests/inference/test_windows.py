"""Window arithmetic (tables), the stream scheduler, frame ring and VIDEO parsing."""
import numpy as np
import pytest

from epic_mmaction.inference import (FrameRing, SourceError, StreamWindows, Window,
                                     WindowPlan, nearest_window, parse_source,
                                     sliding_windows)

NTSC = 60000 / 1001

# (num_frames, fps, window, stride) -> [(start_frame, stop_frame), ...]
TABLE = [
    # 12 s at 59.94: starts round(k * 59.94), 120-frame windows, the 11th ends the video
    ((719, NTSC, 2, 1), [(0, 119), (60, 179), (120, 239), (180, 299), (240, 359),
                         (300, 419), (360, 479), (420, 539), (480, 599), (539, 658),
                         (599, 718)]),
    ((300, 25, 2, 1), [(s, s + 49) for s in range(0, 251, 25)]),
    ((100, 25, 2, 1), [(0, 49), (25, 74), (50, 99)]),  # strides land on the end
    ((110, 25, 2, 1), [(0, 49), (25, 74), (50, 99), (60, 109)]),  # one more ends it
    ((100, 10, 3, 3), [(0, 29), (30, 59), (60, 89), (70, 99)]),  # stride == window
    ((20, 30, 0.5, 0.1), [(0, 14), (3, 17), (5, 19)]),
    ((30, 25, 2, 1), [(0, 29)]),  # shorter than a window: one window, all of it
    ((50, 25, 2, 1), [(0, 49)]),  # exactly a window
    ((1, 30, 2, 1), [(0, 0)]),
    ((51, 25, 2, 0.04), [(0, 49), (1, 50)]),  # stride of one frame
]


@pytest.mark.parametrize('args,expected', TABLE)
def test_sliding_windows_table(args, expected):
    num_frames, fps, window, stride = args
    windows = sliding_windows(num_frames, fps, window, stride)
    assert [(w.start_frame, w.stop_frame) for w in windows] == expected
    for w in windows:
        assert w.start == pytest.approx(w.start_frame / fps)
        assert w.end == pytest.approx((w.stop_frame + 1) / fps)
        assert w.num_frames == min(num_frames, round(window * fps))
    # every frame is in a window, the last window ends the video
    covered = np.zeros(num_frames, bool)
    for w in windows:
        covered[w.start_frame:w.stop_frame + 1] = True
    assert covered.all() and windows[-1].stop_frame == num_frames - 1


def test_windows_are_tuples_in_seconds():
    w = sliding_windows(300, 25, 2, 1)[1]
    assert isinstance(w, tuple) and w == Window(25, 74, 1.0, 3.0)
    assert tuple(w) == (25, 74, 1.0, 3.0)


def test_an_hour_at_ntsc_rate_does_not_drift():
    num_frames = int(3600 * NTSC)
    windows = sliding_windows(num_frames, NTSC, 2, 1)
    starts = np.array([w.start for w in windows[:-1]])
    assert len(windows) == 3599
    # window k starts at k seconds to within half a frame (a rounded stride of
    # 60 frames would be 3.6 s late by the end)
    assert np.abs(starts - np.arange(len(starts))).max() <= 0.5 / NTSC + 1e-9
    assert windows[-1].stop_frame == num_frames - 1


@pytest.mark.parametrize('fps,window,stride,match', [
    (0, 2, 1, 'fps must be a positive'),
    (25, -1, 1, 'window must be a positive'),
    (25, 2, 0, 'stride must be a positive'),
    (25, float('nan'), 1, 'window must be a positive'),
    (float('inf'), 2, 1, 'fps must be a positive'),
    (25, 1, 2, 'longer than the window'),
    (25, 0.01, 0.01, 'at least one frame'),
    (25, 2, 0.02, 'at least one frame'),
])
def test_bad_plans_are_refused(fps, window, stride, match):
    with pytest.raises(ValueError, match=match):
        WindowPlan(fps, window, stride)


@pytest.mark.parametrize('num_frames', [0, -3, 2.5, None])
def test_bad_frame_counts_are_refused(num_frames):
    with pytest.raises(ValueError, match='num_frames'):
        sliding_windows(num_frames, 25, 2, 1)


@pytest.mark.parametrize('fps,window,stride', [(25, 2, 1), (NTSC, 2, 1), (30, 0.5, 0.1),
                                               (10, 3, 3), (50, 1.3, 0.7)])
def test_stream_windows_match_the_file_windows(fps, window, stride):
    """Fed frame by frame, a stream gives each window as its last frame arrives,
    and the same windows as a file of the final length."""
    for total in range(1, 160):
        schedule = StreamWindows(WindowPlan(fps, window, stride))
        got = []
        for seen in range(1, total + 1):
            for w in schedule.ready(seen):
                assert w.stop_frame == seen - 1  # not a frame later
                got.append(w)
        got += schedule.finish(total)
        assert got == sliding_windows(total, fps, window, stride), total
        assert schedule.finish(total) == []  # finishing twice adds nothing


# windows (0-49, 25-74, 50-99): centres 24.5, 49.5, 74.5, boundaries 37 and 62
@pytest.mark.parametrize('frame,owner', [(0, 0), (37, 0), (38, 1), (62, 1), (63, 2),
                                         (99, 2), (120, 2)])
def test_nearest_window_table(frame, owner):
    windows = sliding_windows(100, 25, 2, 1)
    assert nearest_window(windows, 121)[frame] == owner


def test_nearest_window_of_one_window():
    assert nearest_window(sliding_windows(30, 25, 2, 1), 30).tolist() == [0] * 30


def test_frame_ring_holds_the_last_frames():
    ring = FrameRing(3)
    for i in range(5):
        ring.append(np.full((2, 2, 3), i, np.uint8))
    assert (ring.first, ring.count) == (2, 5)
    assert [int(f[0, 0, 0]) for f in ring.window(2, 4)] == [2, 3, 4]
    assert [int(f[0, 0, 0]) for f in ring.window(3, 3)] == [3]
    for start, stop in ((1, 3), (3, 5), (4, 3)):
        with pytest.raises(IndexError, match='the ring holds 2..4'):
            ring.window(start, stop)
    with pytest.raises(ValueError):
        FrameRing(0)


@pytest.mark.parametrize('text,kind,target', [
    ('0', 'camera', 0), ('2', 'camera', 2), (' 1 ', 'camera', 1),
    ('rtsp://10.0.0.2:554/live', 'url', 'rtsp://10.0.0.2:554/live'),
    ('http://host/cam.mjpg', 'url', 'http://host/cam.mjpg'),
    ('HTTPS://host/x.m3u8', 'url', 'HTTPS://host/x.m3u8'),
])
def test_parse_live_sources(text, kind, target):
    source = parse_source(text)
    assert (source.kind, source.target, source.stream) == (kind, target, True)


def test_parse_files(tmp_path):
    video = tmp_path / 'P01_01.MP4'
    video.write_bytes(b'')
    for text, stream in ((str(video), False), (f'file://{video}', False), (str(video), True)):
        source = parse_source(text, stream=stream)
        assert (source.kind, source.target, source.stream) == ('file', str(video), stream)
        assert source.name == 'P01_01'
    with pytest.raises(SourceError, match=f'video not found: {tmp_path}/nope.mp4'):
        parse_source(str(tmp_path / 'nope.mp4'))
    with pytest.raises(SourceError, match='directory'):
        parse_source(str(tmp_path))
    assert parse_source('3').name == 'camera3' and str(parse_source('3')) == 'camera 3'
