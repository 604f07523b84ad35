"""Outputs of sliding-window inference: the windows CSV and an annotated MP4.

Both are written to a temp file beside the target and renamed on success, so
an interrupted run never leaves half a CSV or an unplayable video behind.
"""
import contextlib
import csv
import os
import os.path as osp
import tempfile
from fractions import Fraction
from typing import List, Optional, Sequence

import numpy as np
import pandas as pd

from ..utils.fileio import atomic_write
from .sliding import WindowPrediction
from .topk import ClassNames, topk_columns
from .windows import Window, nearest_window

__all__ = ['windows_table', 'write_windows_csv', 'caption_lines', 'AnnotatedVideoWriter',
           'annotate_file']

WINDOW_COLUMNS = ('start', 'end', 'start_frame', 'stop_frame')


def windows_table(predictions: Sequence[WindowPrediction], names: ClassNames,
                  k: int = 5) -> pd.DataFrame:
    """One row per window: ``start``, ``end`` (seconds), ``start_frame``,
    ``stop_frame`` (inclusive), then ``{verb,noun,action}_{r}`` and
    ``..._{r}_score`` for ranks 1..k."""
    columns = {c: [getattr(p.window, c) for p in predictions] for c in WINDOW_COLUMNS}
    if predictions:
        columns.update(topk_columns(np.stack([p.verb for p in predictions]),
                                    np.stack([p.noun for p in predictions]), names, k))
    return pd.DataFrame(columns)


def write_windows_csv(table: pd.DataFrame, path: str) -> str:
    """Write :func:`windows_table` (seconds and scores to 6 places), atomically."""
    with atomic_write(path, 'w', newline='', encoding='utf-8') as f:
        table.to_csv(f, index=False, float_format='%.6f', quoting=csv.QUOTE_MINIMAL)
    return path


def caption_lines(table: pd.DataFrame, row: int, n: int = 3) -> List[str]:
    """``'1. verb noun 0.42'`` for a window's top-``n`` actions."""
    r = table.iloc[row]
    return [f"{i}. {r[f'action_{i}']} {r[f'action_{i}_score']:.2f}"
            for i in range(1, n + 1) if f'action_{i}' in table.columns]


def _draw(frame: np.ndarray, lines: Sequence[str]) -> np.ndarray:
    """White text on black boxes, bottom left, scaled with the frame and fitted
    to its width."""
    import cv2
    img = np.array(frame, copy=True, order='C')  # never draw on the caller's frame
    h, w = img.shape[:2]
    font = cv2.FONT_HERSHEY_SIMPLEX
    widest = max(cv2.getTextSize(line, font, 1.0, 2)[0][0] for line in lines)
    scale = min(max(0.4, h / 720), (w - 8) / max(widest, 1))
    thickness = max(1, int(round(scale * 2)))
    line_h = int(round(30 * scale)) + 2
    y = h - 4 - line_h * (len(lines) - 1)
    for line in lines:
        (tw, th), base = cv2.getTextSize(line, font, scale, thickness)
        cv2.rectangle(img, (2, y - th - 2), (6 + tw, y + base), (0, 0, 0), -1)
        cv2.putText(img, line, (4, y), font, scale, (255, 255, 255), thickness, cv2.LINE_AA)
        y += line_h
    return img


class AnnotatedVideoWriter:
    """H.264 MP4 (PyAV/libx264) of RGB frames with caption lines drawn on them.

    The size is taken from the first frame (cropped to even sides, as
    yuv420p needs). Use as a context manager: the file appears under its
    name only if the block finishes without an exception.
    """

    def __init__(self, path: str, fps: float, crf: int = 23) -> None:
        self.path = path
        self.rate = Fraction(fps).limit_denominator(1001)
        self.crf = crf
        self.frames = 0
        self._container = self._stream = None
        directory = osp.dirname(osp.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.mp4',
                                         dir=directory)
        os.close(fd)

    def _open(self, width: int, height: int) -> None:
        import av
        self._container = av.open(self._tmp, 'w', format='mp4')
        stream = self._container.add_stream('libx264', rate=self.rate)
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuv420p'
        stream.codec_context.time_base = 1 / self.rate
        stream.options = {'crf': str(self.crf), 'preset': 'veryfast'}
        self._stream = stream

    def write(self, frame: np.ndarray, lines: Sequence[str] = ()) -> None:
        import av
        h, w = frame.shape[:2]
        h, w = h - h % 2, w - w % 2
        if self._container is None:
            self._open(w, h)
        img = _draw(frame[:h, :w], lines) if lines else np.ascontiguousarray(frame[:h, :w])
        out = av.VideoFrame.from_ndarray(img, format='rgb24')
        out.pts = self.frames
        self._container.mux(self._stream.encode(out))
        self.frames += 1

    def close(self) -> None:
        """Flush and rename into place (nothing is written if no frame came)."""
        if self._container is not None:
            self._container.mux(self._stream.encode())
            self._container.close()
            self._container = None
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
        else:
            self.abort()

    def abort(self) -> None:
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._tmp)

    def __enter__(self) -> 'AnnotatedVideoWriter':
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def annotate_file(video: str, out_path: str, windows: List[Window], table: pd.DataFrame,
                  fps: float, lines: int = 3, max_frames: Optional[int] = None) -> int:
    """Re-read ``video`` in order and write each frame captioned with the top
    actions of its nearest-centred window; returns the frames written."""
    import av
    captions = [caption_lines(table, i, lines) for i in range(len(windows))]
    last = windows[-1].stop_frame + 1
    owner = nearest_window(windows, last)
    with AnnotatedVideoWriter(out_path, fps) as writer, av.open(video) as container:
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        for i, frame in enumerate(container.decode(stream)):
            if max_frames is not None and i >= max_frames:
                break
            writer.write(frame.to_ndarray(format='rgb24'),
                         captions[owner[min(i, last - 1)]])
        return writer.frames
