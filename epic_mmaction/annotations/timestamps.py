"""Time <-> frame arithmetic for EPIC-KITCHENS annotations. Pure functions.

EPIC's ``start_frame``/``stop_frame`` count frames at a nominal 60 fps for
``PXX_YY`` videos and 50 fps for ``PXX_1YY`` videos, but most videos really run
at 59.94 fps, so raw frame numbers drift ~2 s late half an hour into a video.
The timestamps are right: a time times the video's *real* fps gives the frame
of the video file. List files use the file's own numbering, 0-based, with an
inclusive stop: frame ``i`` is shown during ``[i / fps, (i + 1) / fps)``.
"""
import math
import re
from typing import Tuple

from ..utils.errors import AnnotationError

_TIMESTAMP = re.compile(r'^(\d+):([0-5]?\d):(\d+(?:\.\d*)?)$')


def parse_timestamp(text: str) -> float:
    """``'HH:MM:SS.ss'`` -> seconds. Raises ValueError on anything else."""
    match = _TIMESTAMP.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise AnnotationError(f'not an HH:MM:SS.ss timestamp: {text!r}')
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def format_timestamp(seconds: float, decimals: int = 2) -> str:
    """Seconds -> ``'HH:MM:SS.ss'`` (EPIC's format), rounded to ``decimals``."""
    scale = 10 ** decimals
    ticks = int(round(seconds * scale))
    whole, frac = divmod(ticks, scale)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    return f'{hours:02d}:{minutes:02d}:{secs:02d}.{frac:0{decimals}d}'


def nominal_fps(video_id: str) -> int:
    """The frame rate EPIC's frame columns count in: 50 for PXX_1YY, else 60."""
    match = re.match(r'^P\d+_(\d+)$', video_id)
    if match is None:
        raise AnnotationError(f'not an EPIC video id (PXX_YY or PXX_1YY): {video_id!r}')
    return 50 if len(match.group(1)) == 3 else 60


def time_range_to_frames(start: float, stop: float,
                         fps: float) -> Tuple[int, int]:
    """Frames shown in ``[start, stop)``: (first, last), 0-based, inclusive.

    Rounding to the nearest frame boundary keeps annotations written at 0.01 s
    precision within half a frame. A range shorter than one frame keeps the
    frame it starts in, so it never comes back empty.
    """
    if fps <= 0:
        raise ValueError(f'fps must be positive, got {fps}')
    if stop <= start:
        raise ValueError(f'empty or reversed range: {start} .. {stop}')
    first = int(round(start * fps))
    last = int(round(stop * fps)) - 1
    if last < first:
        first = last = int(math.floor(start * fps))
    return first, last


def nominal_frames_to_times(start_frame: int, stop_frame: int,
                            nominal: float) -> Tuple[float, float]:
    """EPIC's ``start_frame``/``stop_frame`` -> seconds, undoing their 60/50 fps count.

    EPIC derives them as ``floor(time * nominal)``, so ``frame / nominal`` is the
    time (to one nominal frame).
    """
    return start_frame / nominal, stop_frame / nominal
