"""What a VIDEO argument names (a file, a camera, a stream URL) and how to read it.

Files are read window by window through the config's own ``SegmentVideoInit``
(random access, only the sampled frames are decoded). Cameras and stream URLs
cannot seek, so they are read frame by frame with ``cv2.VideoCapture`` into a
:class:`FrameRing` that holds the last window's frames.
"""
import math
import os.path as osp
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Iterator, List, Optional, Tuple, Union

import numpy as np
from ..utils import EpicError
from ..video import VideoReadError, open_video_reader

__all__ = ['SourceError', 'Source', 'parse_source', 'probe_file', 'open_capture',
           'capture_fps', 'read_capture', 'FrameRing']


class SourceError(EpicError, RuntimeError):
    """A video, camera or stream that cannot be opened; the message names it."""


@dataclass(frozen=True)
class Source:
    """``kind`` is ``'file'``, ``'camera'`` (an OpenCV index) or ``'url'``."""
    kind: str
    target: Union[str, int]
    stream: bool  # read frame by frame with OpenCV (always for cameras and URLs)

    @property
    def name(self) -> str:
        """A short name for default output files."""
        if self.kind == 'camera':
            return f'camera{self.target}'
        if self.kind == 'url':
            return 'stream'
        return osp.splitext(osp.basename(str(self.target)))[0]

    def __str__(self) -> str:
        return f'camera {self.target}' if self.kind == 'camera' else str(self.target)


def parse_source(text: str, stream: bool = False) -> Source:
    """``'0'`` -> camera 0, ``'rtsp://...'``/``'http://...'`` -> URL, else a file.

    ``stream=True`` reads a file through OpenCV too (as a live source would
    be read). A file that does not exist raises :class:`SourceError`.
    """
    text = str(text).strip()
    if text.isdigit():
        return Source('camera', int(text), True)
    if '://' in text:
        scheme = text.split('://', 1)[0].lower()
        if scheme == 'file':
            text = text[len('file://'):]
        else:
            return Source('url', text, True)
    if not osp.exists(text):
        raise SourceError(f'video not found: {text}')
    if osp.isdir(text):
        raise SourceError(f'video is a directory, not a file: {text}')
    return Source('file', text, bool(stream))


def probe_file(path: str, backend: str = 'pyav') -> Tuple[int, float]:
    """``(frames, fps)`` of a file as the config's reader sees it.

    ``backend`` is that of the test pipeline's ``SegmentVideoInit``
    (:func:`epic_mmaction.inference.recognizer.pipeline_backend`), so the
    windows are planned over the frames the model will be shown.
    """
    try:
        reader = open_video_reader(path, backend)
        num_frames, fps = len(reader), float(reader.get_avg_fps())
    except VideoReadError as e:
        raise SourceError(str(e)) from e
    if num_frames < 1 or not math.isfinite(fps) or fps <= 0:
        raise SourceError(f'video {path} has {num_frames} frames at {fps} fps: '
                          'nothing to recognise')
    return num_frames, fps


def open_capture(source: Source):
    """A ``cv2.VideoCapture`` that is open, or :class:`SourceError`."""
    import cv2
    cap = cv2.VideoCapture(source.target)
    if not cap.isOpened():
        cap.release()
        raise SourceError(f'OpenCV cannot open {source} (no such camera, unreachable '
                          'stream, or a format its FFmpeg backend does not read)')
    return cap


def capture_fps(cap, default: Optional[float] = None) -> Optional[float]:
    """The frame rate the capture reports; ``default`` if it reports none.

    Webcams often report 0 (or nonsense): then the caller's ``--fps`` is used.
    """
    import cv2
    fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
    if not math.isfinite(fps) or fps <= 0 or fps > 1000:
        return default
    return fps


def read_capture(cap) -> Iterator[np.ndarray]:
    """RGB frames (decord's channel order) until the capture ends."""
    import cv2
    while True:
        ok, frame = cap.read()
        if not ok or frame is None:
            return
        if frame.ndim == 2:
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


class FrameRing:
    """The last ``capacity`` frames of a stream, by absolute frame index.

    Holds one window of full-resolution frames (e.g. 2 s of 1080p at 60 fps
    is ~750 MB), so a window can be sampled exactly as from a file.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f'capacity must be >= 1, got {capacity}')
        self.capacity = capacity
        self._frames: deque = deque(maxlen=capacity)
        self.count = 0  # frames appended so far; the newest has index count - 1

    def append(self, frame: np.ndarray) -> None:
        self._frames.append(frame)
        self.count += 1

    @property
    def first(self) -> int:
        """Index of the oldest frame held."""
        return self.count - len(self._frames)

    def window(self, start: int, stop: int) -> List[np.ndarray]:
        """Frames ``start..stop`` (inclusive); all of them must still be held."""
        if start < self.first or stop >= self.count or start > stop:
            raise IndexError(f'frames {start}..{stop} requested, the ring holds '
                             f'{self.first}..{self.count - 1}')
        offset = self.first
        return list(islice(self._frames, start - offset, stop - offset + 1))
