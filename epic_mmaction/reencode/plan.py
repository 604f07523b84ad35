"""Frame arithmetic of a re-encode: which source frame each output frame shows.

Pure functions, exact with :class:`fractions.Fraction` (59.94 fps is
60000/1001: float arithmetic drifts by a frame within an hour). Lists, the
transcoder and the tests all use these, so a segment is mapped with the very
rule the frames were written with:

* output frame ``j`` shows source frame ``floor(j * src_fps / dst_fps)``;
* a video never gains frames: a target rate at or above the source's keeps
  the source rate (no duplicated frames);
* a segment ``[start, stop]`` maps to the output frames whose source frames
  lie inside it; one shorter than an output frame period gets the output frame
  nearest its middle.
"""
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Tuple, Union

FpsLike = Union[Fraction, int, float, str]

_NTSC_BASES = (24, 30, 48, 60, 120)


def parse_fps(value: FpsLike) -> Fraction:
    """An exact frame rate: '29.97' -> 30000/1001, '30000/1001', 25 -> 25.

    Raises ValueError for anything that is not a positive rate.
    """
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, str) and '/' in value:
        try:
            fps = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f'frame rate {value!r} is not a number or a '
                             'fraction like 30000/1001') from None
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f'frame rate {value!r} is not a number') from None
        if not math.isfinite(number):
            raise ValueError(f'frame rate {value!r} is not finite')
        fps = Fraction(number).limit_denominator(1001)
        for base in _NTSC_BASES:  # 29.97 / 59.94 mean the NTSC fractions
            if abs(number - base * 1000 / 1001) < 0.005:
                fps = Fraction(base * 1000, 1001)
    if fps <= 0:
        raise ValueError(f'frame rate must be > 0, got {value!r}')
    return fps


def format_fps(fps: Fraction) -> str:
    """'60000/1001' or '50': how manifests store a rate (Fraction() reads it back)."""
    return str(Fraction(fps))


def output_fps(src_fps: Fraction, target: Optional[Fraction]) -> Fraction:
    """The output rate: ``target`` if below the source's, else the source's."""
    if target is None or target >= src_fps:
        return Fraction(src_fps)
    return Fraction(target)


def _ratio(src_fps: Fraction, dst_fps: Fraction) -> Fraction:
    ratio = Fraction(src_fps) / Fraction(dst_fps)
    if ratio < 1:
        raise ValueError(f'output rate {dst_fps} is above the source rate {src_fps}: '
                         'frames would be duplicated (use output_fps())')
    return ratio


def source_frame(j: int, src_fps: Fraction, dst_fps: Fraction) -> int:
    """The source frame output frame ``j`` shows: floor(j * src_fps / dst_fps)."""
    return math.floor(j * _ratio(src_fps, dst_fps))


def output_frame_count(num_src: int, src_fps: Fraction, dst_fps: Fraction) -> int:
    """Output frames of a ``num_src``-frame video: those whose source frame exists."""
    # floor(j * r) < num_src  <=>  j < num_src / r
    return math.ceil(num_src / _ratio(src_fps, dst_fps))


def frames_per_chunk(chunk_seconds: float, fps: Fraction) -> int:
    """Frames in each chunk of ``chunk_seconds`` at ``fps`` (at least 1)."""
    if not chunk_seconds > 0:
        raise ValueError(f'chunk length must be > 0 seconds, got {chunk_seconds}')
    return max(1, round(Fraction(chunk_seconds) * Fraction(fps)))


def output_size(width: int, height: int, short_side: Optional[int]) -> Tuple[int, int]:
    """(width, height) scaled so the short side is ``short_side``, both even.

    Never upscales: a video whose short side is already at most ``short_side``
    keeps its size (rounded down to even, as yuv420p needs).
    """
    if width < 2 or height < 2:
        raise ValueError(f'frame size {width}x{height} is too small')
    if short_side is None or short_side >= min(width, height):
        return width - width % 2, height - height % 2
    scale = Fraction(short_side, min(width, height))

    def even(x: Fraction) -> int:
        return max(2, 2 * round(x / 2))

    return even(width * scale), even(height * scale)


@dataclass(frozen=True)
class MappedSegment:
    """Where a source segment lands; ``how`` is 'same', 'mapped' or 'nearest'."""
    start: int
    stop: int
    how: str


def map_segment(start: int, stop: int, num_src: int, src_fps: Fraction,
                dst_fps: Fraction) -> MappedSegment:
    """The output frames showing source frames ``start..stop`` (inclusive).

    'same': unchanged numbers (no rate change); 'mapped': the output frames
    whose source frame is in ``[start, stop]``; 'nearest': no output frame
    falls inside (a segment shorter than an output frame period), so the one
    whose source frame is nearest the segment's middle (the earlier on a tie).
    Raises ValueError for a range outside the ``num_src`` source frames.
    """
    if not 0 <= start <= stop < num_src:
        raise ValueError(f'segment {start}..{stop} is outside the video '
                         f'(0..{num_src - 1})')
    ratio = _ratio(src_fps, dst_fps)
    if ratio == 1:
        return MappedSegment(start, stop, 'same')
    num_out = math.ceil(num_src / ratio)
    first = math.ceil(start / ratio)  # floor(j r) >= start  <=>  j r >= start
    last = min(math.ceil((stop + 1) / ratio) - 1, num_out - 1)  # j r < stop + 1
    if first <= last:
        how = 'same' if (first, last) == (start, stop) else 'mapped'
        return MappedSegment(first, last, how)
    middle = Fraction(start + stop, 2)
    candidates = [j for j in (last, first) if 0 <= j < num_out]
    best = min(candidates, key=lambda j: (abs(math.floor(j * ratio) - middle), j))
    return MappedSegment(best, best, 'nearest')
