"""Frame-exact random access into long H.264 files with PyAV, at clip cost.

decord builds its frame index by reading every packet of the file when a
``VideoReader`` is constructed: ~150 ms for a 5-minute 640x360 video and
seconds for an hour of 1080p, paid again on every reader-cache miss (with 700
videos and shuffled segments, nearly every sample). PyAV opens a file from
its container index alone (a few ms, independent of length), so
:class:`PyAVVideoReader` seeks to the keyframe before the first wanted frame,
decodes forward, and converts to RGB only the frames asked for.

Frame ``i`` is the ``i``-th frame in presentation order, as in decord: its
presentation timestamp is ``start_time + i / fps`` (constant frame rate, as
camera footage and EPIC's videos are). A decoded frame off that grid is an
error naming the video, never a silently shifted clip.
"""
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from ..utils.errors import VideoReadError
from .frames import Frames as _Frames

_MAX_BACKOFF = 6  # seek retries, each twice as far back as the last
# frames a seek must save before it beats decoding on (it flushes the decoder)
_SEEK_MIN_SAVING = 16


class PyAVVideoReader:
    """A decord-like reader (``len``, ``get_batch``, ``get_avg_fps``) over PyAV.

    Args:
        path (str): The video file.
        num_threads (int): Decoder threads; 0 lets FFmpeg choose. Defaults to 1.
    """

    def __init__(self, path: str, num_threads: int = 1) -> None:
        import av
        self.path = path
        try:
            self._container = av.open(path)
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, IndexError, OSError) as e:
            raise VideoReadError(
                f'cannot open video {path} ({type(e).__name__}: {e}). Run '
                'tools/clean_segments.py on the list to drop broken videos.') from e
        stream = self._stream
        stream.codec_context.thread_count = num_threads
        stream.codec_context.thread_type = 'AUTO' if num_threads != 1 else 'SLICE'
        rate = stream.average_rate or stream.guessed_rate
        if not rate or not stream.time_base:
            raise VideoReadError(f'{path}: the video stream declares no frame rate '
                                 'or time base; re-encode it (tools/reencode_videos.py)')
        self._fps = Fraction(rate)
        self._tb = Fraction(stream.time_base)
        self._start = stream.start_time or 0
        # frame index = (pts - start) * tb * fps = (pts - start) * _num / _den
        step = self._tb * self._fps
        self._num, self._den = step.numerator, step.denominator
        self._len = int(stream.frames)
        if self._len <= 0:  # containers without a frame count (rare for MP4)
            if not stream.duration:
                raise VideoReadError(f'{path}: the container gives neither a frame '
                                     'count nor a duration; re-encode it to MP4')
            self._len = int(round(stream.duration * self._tb * self._fps))
        from av.video.reformatter import VideoReformatter
        self._rgb = VideoReformatter()
        self._gop: Optional[int] = None
        self._frames = None  # the decode generator since the last seek
        self._pos: Optional[int] = None  # index of the last frame decoded
        self.seeks = 0  # seeks so far, for tests and benchmarks
        self.decoded = 0  # frames decoded so far (converted or not)

    def _keyframe_interval(self, probe: int = 2000) -> int:
        """Frames between the first keyframes (from the container index)."""
        entries = self._stream.index_entries
        keys = [i for i in range(min(len(entries), probe)) if entries[i].is_keyframe]
        if len(keys) >= 2:
            return max(1, keys[1] - keys[0])
        return max(1, min(len(entries), probe))

    def __len__(self) -> int:
        return self._len

    def get_avg_fps(self) -> float:
        return float(self._fps)

    @property
    def keyframe_interval(self) -> int:
        """Frames between the first two keyframes (read when first needed)."""
        if self._gop is None:
            self._gop = self._keyframe_interval()
        return self._gop

    def _index(self, pts: Optional[int]) -> int:
        if pts is None:
            raise VideoReadError(f'{self.path}: a decoded frame has no timestamp; '
                                 're-encode the video (tools/reencode_videos.py)')
        num = (pts - self._start) * self._num  # integers: exact and fast
        index = (2 * num + self._den) // (2 * self._den)  # round half up
        if 4 * abs(num - index * self._den) > self._den:
            raise VideoReadError(
                f'{self.path}: frame at pts {pts} is off the {float(self._fps):.3f} '
                'fps grid (variable frame rate?); re-encode the video at a constant '
                'rate with tools/reencode_videos.py')
        return index

    def _seek(self, index: int) -> None:
        pts = self._start + int((index / self._fps) / self._tb)
        self._container.seek(max(pts, self._start), stream=self._stream,
                             backward=True, any_frame=False)
        self._frames = self._container.decode(self._stream)
        self._pos = None
        self.seeks += 1

    def _next(self, target: int):
        try:
            frame = next(self._frames)
        except StopIteration:
            raise VideoReadError(
                f'{self.path}: the video ended before frame {target} (last decoded '
                f'{self._pos}, {self._len} declared). Run tools/clean_segments.py '
                '--full on the list.') from None
        except Exception as e:  # av.FFmpegError subclasses from native code
            raise VideoReadError(
                f'{self.path}: cannot decode frame {target} ({type(e).__name__}: '
                f'{str(e).splitlines()[0][:200]}). Run tools/clean_segments.py '
                '--full on the list.') from e
        self.decoded += 1
        return frame

    def _keyframe_before(self, target: int) -> int:
        """The last keyframe at or before ``target`` (container index order).

        In a closed GOP (x264's default, camera footage) a keyframe's place in
        decode order is its place in presentation order; if a file breaks
        this, only the seek decision below gets worse, never the frames.
        """
        entries = self._stream.index_entries
        i = min(target, len(entries) - 1)
        while i > 0 and not entries[i].is_keyframe:
            i -= 1
        return max(i, 0)

    def _needs_seek(self, target: int) -> bool:
        # decode on from the current position unless a keyframe well past it
        # lies before the target (then seeking there decodes fewer frames)
        return (self._pos is None or target <= self._pos
                or self._keyframe_before(target) > self._pos + _SEEK_MIN_SAVING)

    def _frame_at(self, target: int):
        """Position the decoder on ``target`` and return that frame."""
        if self._needs_seek(target):
            back = 0
            for _ in range(_MAX_BACKOFF + 1):
                self._seek(max(0, target - back))
                frame = self._next(target)
                index = self._index(frame.pts)
                if index <= target or target - back <= 0:
                    break
                back = 2 * back if back else self.keyframe_interval  # landed after: go back
            if index > target:
                raise VideoReadError(
                    f'{self.path}: seeking to frame {target} lands on frame '
                    f'{index}; the keyframe index is unusable, re-encode the '
                    'video (tools/reencode_videos.py)')
            self._pos = index
            if index == target:
                return frame
        while True:
            frame = self._next(target)
            index = self._index(frame.pts)
            if index > target:
                raise VideoReadError(
                    f'{self.path}: frame {target} is missing (decoded {self._pos} '
                    f'then {index}); run tools/clean_segments.py --full on the list')
            self._pos = index
            if index == target:
                return frame

    def get_batch(self, indices: Sequence[int]) -> _Frames:
        """RGB frames ``indices`` (any order, repeats allowed) as N x H x W x 3."""
        inds = np.asarray(indices, dtype=np.int64).reshape(-1)
        if inds.size and (inds.min() < 0 or inds.max() >= self._len):
            raise VideoReadError(
                f'{self.path}: frames {inds.min()}..{inds.max()} requested, the '
                f'video has {self._len}')
        out = np.empty((inds.size, self._stream.height, self._stream.width, 3), np.uint8)
        order = np.argsort(inds, kind='stable')  # decode in ascending order
        last = None
        for k in order:
            t = int(inds[k])
            if t != last:  # one converter for the reader: a new one per frame
                # (what frame.to_ndarray(format='rgb24') makes) costs more
                rgb = self._rgb.reformat(self._frame_at(t), format='rgb24').to_ndarray()
                last = t
            out[k] = rgb  # the one copy: straight into the batch
        return _Frames(out)

    def close(self) -> None:
        self._frames = None
        self._container.close()

    def __del__(self) -> None:
        try:
            self._container.close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass
