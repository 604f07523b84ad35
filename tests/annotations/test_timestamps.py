import pytest

from epic_mmaction.annotations.timestamps import (format_timestamp, nominal_fps,
                                              nominal_frames_to_times,
                                              parse_timestamp,
                                              time_range_to_frames)

NTSC = 60000 / 1001


@pytest.mark.parametrize('text,seconds', [
    ('00:00:00.00', 0.0), ('00:00:01.89', 1.89), ('00:13:21.84', 801.84),
    ('01:02:03.5', 3723.5), ('00:00:05.102', 5.102), ('10:00:00', 36000.0)])
def test_parse_timestamp(text, seconds):
    assert parse_timestamp(text) == pytest.approx(seconds)


@pytest.mark.parametrize('text', ['', '1.5', '00:61:00.00', 'aa:bb:cc', None])
def test_parse_timestamp_rejects(text):
    with pytest.raises(ValueError):
        parse_timestamp(text)


@pytest.mark.parametrize('seconds,decimals,text', [
    (0, 2, '00:00:00.00'), (1.889, 2, '00:00:01.89'), (59.999, 2, '00:01:00.00'),
    (3723.5, 3, '01:02:03.500'), (801.84, 2, '00:13:21.84')])
def test_format_timestamp(seconds, decimals, text):
    assert format_timestamp(seconds, decimals) == text
    assert parse_timestamp(text) == pytest.approx(seconds, abs=10 ** -decimals)


@pytest.mark.parametrize('video_id,fps', [('P01_01', 60), ('P24_09', 60),
                                          ('P01_101', 50), ('P37_103', 50)])
def test_nominal_fps(video_id, fps):
    assert nominal_fps(video_id) == fps


def test_nominal_fps_rejects_non_epic():
    with pytest.raises(ValueError, match='not an EPIC video id'):
        nominal_fps('video1')


# (start s, stop s, fps, first, last): frames shown in [start, stop)
@pytest.mark.parametrize('start,stop,fps,first,last', [
    (0.0, 1.0, 30, 0, 29),                      # segment at the very start
    (0.0, 1 / 30, 30, 0, 0),                    # one frame
    (1.0, 1.001, 30, 30, 30),                   # shorter than a frame
    (1.01, 1.02, 30, 30, 30),                   # inside one frame: keep it
    (2.0, 3.0, 50, 100, 149),
    (0.0, 1.0, NTSC, 0, 59),                    # 59.94: 60 frames is 1.001 s
    (1800.0, 1801.0, NTSC, 107892, 107951),     # half an hour in
    (3599.0, 3600.0, NTSC, 215724, 215783),     # end of an hour-long video
    (601.2, 602.5, 60, 36072, 36149),
])
def test_time_range_to_frames(start, stop, fps, first, last):
    assert time_range_to_frames(start, stop, fps) == (first, last)


@pytest.mark.parametrize('fps', [NTSC, 60, 50, 30, 25])
@pytest.mark.parametrize('first,last', [(0, 0), (0, 100), (17, 18), (107892, 108000),
                                        (215000, 215783)])
def test_time_range_round_trips_frame_ranges(fps, first, last):
    """Times at 0.01 s precision (EPIC's) map back to the exact frames."""
    start = round(first / fps, 2)
    stop = round((last + 1) / fps, 2)
    got = time_range_to_frames(start, stop, fps)
    assert abs(got[0] - first) <= 1 and abs(got[1] - last) <= 1


@pytest.mark.parametrize('start,stop', [(1.0, 1.0), (2.0, 1.0)])
def test_time_range_rejects_empty(start, stop):
    with pytest.raises(ValueError):
        time_range_to_frames(start, stop, 30)


def test_nominal_frames_undo_the_nominal_count():
    # EPIC: start_frame = floor(t * 60) for PXX_YY
    t0, t1 = nominal_frames_to_times(48110, 48144, 60)
    assert t0 == pytest.approx(801.833, abs=1e-3) and t1 == pytest.approx(802.4)
