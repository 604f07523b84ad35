"""Sliding windows over a video, in frames and seconds.

Pure arithmetic, shared by files (length known) and live streams (length
known only when they end), so both give the same windows for the same frames.
Window ``k`` starts at frame ``round(k * stride * fps)``, computed from ``k``
rather than by adding a rounded stride, so an hour at 59.94 fps does not drift.
Every window has ``round(window * fps)`` frames; when the strides do not land
on the end, one more window ends on the last frame (it overlaps its
predecessor more), and a video shorter than a window is one window.
Frame ranges are inclusive, like ``segment_start``/``segment_stop``.
"""
import math
from typing import List, NamedTuple

import numpy as np

from ..utils import UsageError

__all__ = ['Window', 'WindowPlan', 'StreamWindows', 'sliding_windows', 'nearest_window']


class Window(NamedTuple):
    """Frames ``start_frame..stop_frame`` (inclusive); ``start``/``end`` in seconds."""
    start_frame: int
    stop_frame: int
    start: float  # start_frame / fps
    end: float  # (stop_frame + 1) / fps: the end of the last frame

    @property
    def num_frames(self) -> int:
        return self.stop_frame - self.start_frame + 1


def _round(x: float) -> int:
    # half up, not to even; the epsilon absorbs 3 * 0.1 * 30 = 9.000000000000002
    return int(math.floor(x + 0.5 + 1e-9))


class WindowPlan:
    """Window length and stride, checked and turned into frames at ``fps``.

    Raises ``ValueError`` for non-positive or non-finite values, a window or
    stride shorter than one frame, and a stride longer than the window (frames
    between windows would never be looked at).
    """

    def __init__(self, fps: float, window: float, stride: float) -> None:
        for name, value in (('fps', fps), ('window', window), ('stride', stride)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise UsageError(f'{name} must be a positive number, got {value!r}')
        if stride > window:
            raise UsageError(f'stride {stride:g}s is longer than the window {window:g}s: '
                             'frames between windows would be skipped')
        self.fps, self.window, self.stride = float(fps), float(window), float(stride)
        self.length = _round(window * fps)
        if self.length < 1 or stride * fps < 1:
            raise UsageError(f'window {window:g}s / stride {stride:g}s: both must be at '
                             f'least one frame (1/{fps:g}s)')

    def start_frame(self, k: int) -> int:
        """First frame of window ``k``."""
        return _round(k * self.stride * self.fps)

    def make(self, start_frame: int, stop_frame: int) -> Window:
        return Window(start_frame, stop_frame, start_frame / self.fps,
                      (stop_frame + 1) / self.fps)

    def __repr__(self) -> str:
        return (f'WindowPlan(fps={self.fps:g}, window={self.window:g}s = {self.length} '
                f'frames, stride={self.stride:g}s)')


class StreamWindows:
    """Hands out a stream's windows in order as its frames arrive.

    :meth:`ready` gives the windows whose last frame has arrived; at the end
    of the stream, :meth:`finish` gives the window that covers the tail (if
    the last one did not end on the last frame). Together they give exactly
    :func:`sliding_windows` of the final frame count.
    """

    def __init__(self, plan: WindowPlan) -> None:
        self.plan = plan
        self.next_k = 0
        self.last_stop = -1  # last frame covered so far

    def ready(self, frames_seen: int) -> List[Window]:
        out = []
        while True:
            start = self.plan.start_frame(self.next_k)
            stop = start + self.plan.length - 1
            if stop >= frames_seen:
                return out
            out.append(self.plan.make(start, stop))
            self.next_k += 1
            self.last_stop = stop

    def finish(self, frames_seen: int) -> List[Window]:
        out = self.ready(frames_seen)
        if frames_seen > 0 and self.last_stop < frames_seen - 1:
            out.append(self.plan.make(max(0, frames_seen - self.plan.length),
                                      frames_seen - 1))
            self.last_stop = frames_seen - 1
        return out


def sliding_windows(num_frames: int, fps: float, window: float,
                    stride: float) -> List[Window]:
    """Windows of ``window`` seconds every ``stride`` seconds over ``num_frames``."""
    if not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f'num_frames must be a positive integer, got {num_frames!r}')
    return StreamWindows(WindowPlan(fps, window, stride)).finish(int(num_frames))


def nearest_window(windows: List[Window], num_frames: int) -> np.ndarray:
    """For each frame, the index of the window whose centre is nearest to it.

    Used to caption frames of the annotated video: with overlapping windows,
    the most centred view of a frame; ties go to the earlier window. Frames
    past the last window get the last window.
    """
    if not windows:
        raise ValueError('no windows')
    centres = np.array([(w.start_frame + w.stop_frame) / 2 for w in windows])
    # centres increase: split the frames halfway between neighbouring centres
    # (O(frames), not frames x windows); a frame on a boundary takes the earlier
    return np.searchsorted((centres[:-1] + centres[1:]) / 2, np.arange(num_frames),
                           side='left')
