"""The frame arithmetic of a re-encode, as tables (exact fractions, no video)."""
from fractions import Fraction

import pytest

from epic_mmaction.reencode.plan import (frames_per_chunk, map_segment, output_fps,
                                         output_frame_count, output_size, parse_fps,
                                         source_frame)
from epic_mmaction.reencode.settings import EncodeSettings, SettingsError

NTSC60 = Fraction(60000, 1001)
NTSC30 = Fraction(30000, 1001)


def source_frames(num_src, src_fps, dst_fps):
    """Source frame of every output frame, in output order."""
    return [source_frame(j, src_fps, dst_fps)
            for j in range(output_frame_count(num_src, src_fps, dst_fps))]


@pytest.mark.parametrize('text,expected', [
    ('59.94', NTSC60), ('29.97', NTSC30), ('30000/1001', NTSC30), ('25', Fraction(25)),
    (50, Fraction(50)), ('23.976', Fraction(24000, 1001)), ('12.5', Fraction(25, 2)),
    (Fraction(7, 3), Fraction(7, 3))])
def test_parse_fps(text, expected):
    assert parse_fps(text) == expected


@pytest.mark.parametrize('text', ['0', '-30', 'abc', '1/0', 'nan', 'inf'])
def test_parse_fps_rejects(text):
    with pytest.raises(ValueError):
        parse_fps(text)


@pytest.mark.parametrize('src,target,expected', [
    (NTSC60, Fraction(30), Fraction(30)), (Fraction(50), Fraction(25), Fraction(25)),
    (Fraction(50), Fraction(60), Fraction(50)),  # never more frames
    (NTSC60, Fraction(60), NTSC60), (NTSC60, None, NTSC60),
    (Fraction(60), NTSC60, NTSC60)])
def test_output_fps(src, target, expected):
    assert output_fps(src, target) == expected


# output frame j shows source frame floor(j * src / dst)
@pytest.mark.parametrize('src,dst,num_src,first_sources,num_out', [
    (NTSC60, NTSC60, 10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 10),        # identity
    (Fraction(50), Fraction(25), 10, [0, 2, 4, 6, 8], 5),              # exactly 2:1
    (Fraction(50), Fraction(25), 11, [0, 2, 4, 6, 8, 10], 6),          # odd length
    (NTSC60, Fraction(30), 10, [0, 1, 3, 5, 7, 9], 6),                 # 1.998:1
    (Fraction(50), Fraction(30), 10, [0, 1, 3, 5, 6, 8], 6),           # 5:3
    (Fraction(60), Fraction(25), 13, [0, 2, 4, 7, 9, 12], 6),          # 12:5
])
def test_source_frames(src, dst, num_src, first_sources, num_out):
    assert source_frames(num_src, src, dst) == first_sources
    assert output_frame_count(num_src, src, dst) == num_out
    assert [source_frame(j, src, dst) for j in range(num_out)] == first_sources


def test_59_94_to_30_over_an_hour_drifts_by_design_not_by_rounding():
    # 59.94 -> 30 skips one extra source frame every 1000: at 1 h the output
    # frame 108000 shows source frame 215784, i.e. the same time (3600 s)
    j = 30 * 3600
    assert source_frame(j, NTSC60, Fraction(30)) == 215784
    assert abs(215784 / float(NTSC60) - 3600) < 1 / 59.94


def test_60_to_59_94_drops_one_frame_in_1001():
    sources = source_frames(3003, Fraction(60), NTSC60)
    assert len(sources) == 3000
    skipped = sorted(set(range(3003)) - set(sources))
    assert skipped == [1000, 2001, 3002][:len(skipped)] and len(skipped) == 3
    assert sources[:1000] == list(range(1000))


@pytest.mark.parametrize('src,dst,num_src,segment,expected', [
    # no rate change: identity, 'same'
    (NTSC60, NTSC60, 100, (0, 99), (0, 99, 'same')),
    (NTSC60, NTSC60, 100, (42, 42), (42, 42, 'same')),
    # 50 -> 25: output j shows 2j
    (Fraction(50), Fraction(25), 100, (0, 99), (0, 49, 'mapped')),   # whole video
    (Fraction(50), Fraction(25), 100, (0, 0), (0, 0, 'same')),       # first frame
    (Fraction(50), Fraction(25), 100, (99, 99), (49, 49, 'nearest')),  # last, odd
    (Fraction(50), Fraction(25), 100, (98, 99), (49, 49, 'mapped')),
    (Fraction(50), Fraction(25), 100, (3, 3), (1, 1, 'nearest')),    # 1 frame between
    (Fraction(50), Fraction(25), 100, (3, 8), (2, 4, 'mapped')),     # 4, 6, 8
    (Fraction(50), Fraction(25), 100, (10, 11), (5, 5, 'mapped')),
    # 59.94 -> 30: sources 0, 1, 3, 5, 7, 9, ...
    (NTSC60, Fraction(30), 600, (0, 599), (0, 300, 'mapped')),  # 300 shows 599
    (NTSC60, Fraction(30), 600, (2, 2), (1, 1, 'nearest')),  # 1 and 3 tie: earlier
    (NTSC60, Fraction(30), 600, (4, 4), (2, 2, 'nearest')),  # 3 and 5 tie: earlier
    (NTSC60, Fraction(30), 600, (1, 2), (1, 1, 'mapped')),
    (NTSC60, Fraction(30), 600, (599, 599), (300, 300, 'mapped')),
    (NTSC60, Fraction(30), 600, (597, 598), (299, 299, 'mapped')),  # 299 shows 597
    (NTSC60, Fraction(30), 600, (598, 598), (299, 299, 'nearest')),
    (NTSC60, Fraction(30), 600, (596, 596), (298, 298, 'nearest')),
    # 60 -> 59.94: almost the identity, frame 1000 is not shown
    (Fraction(60), NTSC60, 3003, (0, 999), (0, 999, 'same')),
    (Fraction(60), NTSC60, 3003, (1000, 1000), (999, 999, 'nearest')),  # 999 / 1001
    (Fraction(60), NTSC60, 3003, (1000, 1001), (1000, 1000, 'mapped')),
    (Fraction(60), NTSC60, 3003, (3002, 3002), (2999, 2999, 'nearest')),
])
def test_map_segment(src, dst, num_src, segment, expected):
    mapped = map_segment(*segment, num_src, src, dst)
    assert (mapped.start, mapped.stop, mapped.how) == expected


@pytest.mark.parametrize('src,dst,num_src', [
    (NTSC60, Fraction(30), 240), (Fraction(50), Fraction(30), 200),
    (Fraction(60), Fraction(25), 150), (Fraction(60), NTSC60, 2100)])
def test_map_segment_matches_brute_force(src, dst, num_src):
    """Against the definition: the output frames whose source is in the segment."""
    sources = source_frames(num_src, src, dst)
    for start in range(0, num_src, 7):
        for stop in (start, start + 1, start + 2, start + 5, num_src - 1):
            if stop >= num_src:
                continue
            inside = [j for j, s in enumerate(sources) if start <= s <= stop]
            mapped = map_segment(start, stop, num_src, src, dst)
            if inside:
                assert (mapped.start, mapped.stop) == (inside[0], inside[-1])
                assert mapped.how in ('same', 'mapped')
            else:
                assert mapped.how == 'nearest' and mapped.start == mapped.stop
                middle = (start + stop) / 2
                best = min(abs(s - middle) for s in sources)
                assert abs(sources[mapped.start] - middle) == best


@pytest.mark.parametrize('segment', [(0, 100), (-1, 3), (5, 4)])
def test_map_segment_rejects_outside(segment):
    with pytest.raises(ValueError, match='outside the video'):
        map_segment(*segment, 100, Fraction(50), Fraction(25))


@pytest.mark.parametrize('size,short,expected', [
    ((1920, 1080), 256, (456, 256)), ((1920, 1080), 320, (568, 320)),
    ((1080, 1920), 256, (256, 456)), ((160, 90), 72, (128, 72)),
    ((160, 90), 90, (160, 90)), ((160, 90), 200, (160, 90)),  # never upscales
    ((161, 91), None, (160, 90)), ((456, 256), 255, (454, 256)),  # even sizes
])
def test_output_size(size, short, expected):
    assert output_size(*size, short) == expected


@pytest.mark.parametrize('seconds,fps,frames', [
    (1.0, NTSC60, 60), (1.0, Fraction(50), 50), (15, NTSC30, 450),
    (0.5, Fraction(25), 12), (0.001, Fraction(25), 1)])
def test_frames_per_chunk(seconds, fps, frames):
    assert frames_per_chunk(seconds, fps) == frames


@pytest.mark.parametrize('kwargs,match', [
    (dict(gop=0), '--gop'), (dict(crf=60), '--crf'), (dict(preset='quick'), '--preset'),
    (dict(fps='abc'), '--fps'), (dict(chunk_seconds=0), '--chunk-seconds'),
    (dict(short_side=8), '--short-side'), (dict(bframes=-1), '--bframes')])
def test_settings_errors_name_the_option(kwargs, match):
    with pytest.raises(SettingsError, match=match):
        EncodeSettings(**kwargs)


def test_settings_key_ignores_threads():
    a, b = EncodeSettings(threads=1, fps=29.97), EncodeSettings(threads=4, fps='29.97')
    assert a.output_key() == b.output_key()
    assert a.output_key()['fps'] == '30000/1001'
