"""Frame-exact random access into long videos with PyAV, at clip cost.

Frame ``i`` is the ``i``-th frame a sequential libav (ffmpeg) decode of the
file outputs, for constant- and variable-rate files alike: a dropped or
duplicated camera frame, timestamp jitter, a late first timestamp, open GOPs
with a B-pyramid or a stream-copied cut behind an MP4 edit list number no
frame differently from ffmpeg. The reader counts and seeks by the video's
:class:`~epic_mmaction.video.frame_index.FrameIndex` (the sorted timestamps
of the frames a decode outputs, read once by demuxing and cached on disk), so
``len`` is the number of frames ffmpeg outputs, and frame ``i`` is found by
seeking to the keyframe before its timestamp, decoding forward and matching
decoded frames to index entries by timestamp. Frames come out as libav
decodes them: rotation metadata is not applied.

decord builds its own frame index by reading every packet whenever a
``VideoReader`` is constructed (seconds for an hour of 1080p, paid again on
every reader-cache miss) and numbers frames differently from ffmpeg on some
files (open GOPs with a B-pyramid, edit-listed cuts, rotated files; see
docs/troubleshooting.md#video-reading). Here an open is the container's
header plus a cached index (milliseconds, independent of length), and only
the frames asked for are converted to RGB.
"""
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from ..utils.errors import VideoReadError
from .frame_index import FrameIndex, load_frame_index
from .frames import Frames as _Frames

_MAX_BACKOFF = 6  # seek retries, each one keyframe further back
# frames a seek must save before it beats decoding on (it flushes the decoder)
_SEEK_MIN_SAVING = 16


class PyAVVideoReader:
    """A decord-like reader (``len``, ``get_batch``, ``get_avg_fps``) over PyAV.

    Args:
        path (str): The video file.
        num_threads (int): Decoder threads; 0 lets FFmpeg choose. Defaults to 1.
        index_cache_dir (str, optional): Where frame indexes are cached; None
            uses ``$EPIC_MMACTION_CACHE_DIR`` or the per-user cache, ``''``
            memory only (:func:`~epic_mmaction.video.frame_index.load_frame_index`).
    """

    def __init__(self, path: str, num_threads: int = 1,
                 index_cache_dir: Optional[str] = None) -> None:
        import av
        self.path = path
        try:
            self._container = av.open(path)
            self._stream = self._container.streams.video[0]
        except (av.FFmpegError, IndexError, OSError) as e:
            raise VideoReadError(
                f'cannot open video {path} ({type(e).__name__}: {e}). Run '
                'tools/clean_segments.py on the list to drop broken videos.') from e
        self.index: FrameIndex = load_frame_index(path, index_cache_dir)
        self._pts = self.index.pts
        stream = self._stream
        stream.codec_context.thread_count = num_threads
        stream.codec_context.thread_type = 'AUTO' if num_threads != 1 else 'SLICE'
        # the stream's average rate (frames / duration); the index's if none
        rate = stream.average_rate or stream.guessed_rate or self.index.average_fps
        if not rate:
            raise VideoReadError(f'{path}: the video stream declares no frame rate '
                                 'and has one frame; re-encode it (tools/reencode_videos.py)')
        self._fps = float(Fraction(rate))
        from av.video.reformatter import VideoReformatter
        self._rgb = VideoReformatter()
        self._frames = None  # decoded frames since the last seek
        self._floor: Optional[int] = None  # pts of the keyframe decoding began at
        self._expect = 0  # index entry the next accepted frame must match
        self._pos: Optional[int] = None  # index of the last frame matched
        self.seeks = 0  # seeks so far, for tests and benchmarks
        self.decoded = 0  # frames decoded so far (converted or not)

    def __len__(self) -> int:
        return len(self.index)

    def get_avg_fps(self) -> float:
        return self._fps

    @property
    def keyframe_interval(self) -> int:
        """Frames between the first two keyframes (from the index)."""
        pos = self.index.key_pos
        if pos.size >= 2:
            return max(1, int(pos[1] - pos[0]))
        return max(1, len(self.index))

    def _decode_from(self, ts: Optional[int]):
        """Frames decoded after a seek to the keyframe at or before ``ts``
        (None: the start), with ``_floor`` set from the first keyframe packet."""
        import av
        try:
            if ts is None:
                self._container.seek(0, backward=True, any_frame=False)
            else:
                self._container.seek(ts, stream=self._stream, backward=True,
                                     any_frame=False)
        except av.FFmpegError as e:
            raise VideoReadError(f'{self.path}: cannot seek ({type(e).__name__}: {e}); '
                                 're-encode the video (tools/reencode_videos.py)') from e
        codec = self._stream.codec_context
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.FFmpegError:  # truncated file: flush what the decoder holds
                packet = None
            if packet is not None and packet.is_corrupt:
                continue  # cut off by the end of the file: not in the index
            if packet is not None and self._floor is None and packet.is_keyframe:
                self._floor = packet.pts  # frames before it may lack references
            yield from codec.decode(packet)
            if packet is None:
                return

    def _seek(self, index: int, back: int) -> bool:
        """Decode from ``back`` keyframes before frame ``index``'s; False when
        that is before the first keyframe (decoding then starts at the start)."""
        k = self.index.keyframe_before(index) - back
        ts = int(self.index.key_pts[k]) if k >= 0 else None
        self._floor = None
        self._frames = self._decode_from(ts)
        self._expect = None
        self._pos = None
        self.seeks += 1
        return k >= 0

    def _next(self, target: int):
        """The next decoded frame that is in the index, and its frame number."""
        import av
        while True:
            try:
                frame = next(self._frames)
            except StopIteration:
                raise VideoReadError(
                    f'{self.path}: the video ended before frame {target} (last '
                    f'decoded {self._pos}, {len(self)} indexed); the file changed '
                    'or is damaged. Run tools/clean_segments.py --full on the '
                    'list.') from None
            except av.FFmpegError as e:  # native decode errors
                raise VideoReadError(
                    f'{self.path}: cannot decode frame {target} ({type(e).__name__}: '
                    f'{str(e).splitlines()[0][:200]}). Run tools/clean_segments.py '
                    '--full on the list.') from e
            self.decoded += 1
            pts = frame.pts
            if pts is None:
                raise VideoReadError(f'{self.path}: a decoded frame has no timestamp; '
                                     're-encode the video (tools/reencode_videos.py)')
            if self._floor is None or pts < self._floor:
                continue  # before the keyframe: leading frames of an open GOP
            if self._expect is None:
                self._expect = self.index.position(self._floor)
            p = self._expect
            if p < len(self) and pts == self._pts[p]:
                self._expect = self._pos = p
                self._expect += 1
                return p, frame
            if p < len(self) and pts > self._pts[p] or self.index.contains(pts):
                raise VideoReadError(
                    f'{self.path}: the decoder output pts {pts} where frame {p} '
                    f'(pts {self._pts[p] if p < len(self) else None}) was expected; '
                    'the file does not decode as its packets say (damaged?). '
                    'Re-encode it (tools/reencode_videos.py) or re-download it.')
            # else: a frame libav discards in a sequential decode (edit list)

    def _needs_seek(self, target: int) -> bool:
        # decode on from the current position unless a keyframe well past it
        # lies before the target (then seeking there decodes fewer frames)
        if self._pos is None or target <= self._pos:
            return True
        k = self.index.keyframe_before(target)
        return k >= 0 and self.index.key_pos[k] > self._pos + _SEEK_MIN_SAVING

    def _frame_at(self, target: int):
        """Position the decoder on ``target`` and return that frame."""
        if self._needs_seek(target):
            for back in range(_MAX_BACKOFF + 1):
                earlier = self._seek(target, back)
                index, frame = self._next(target)
                if index <= target or not earlier:
                    break
                # landed after the target (the keyframe sits later in decode
                # order than in time): start one keyframe further back
            if index > target:
                raise VideoReadError(
                    f'{self.path}: seeking to frame {target} lands on frame '
                    f'{index}; the keyframe index is unusable, re-encode the '
                    'video (tools/reencode_videos.py)')
            if index == target:
                return frame
        while True:
            index, frame = self._next(target)
            if index == target:
                return frame

    def get_batch(self, indices: Sequence[int]) -> _Frames:
        """RGB frames ``indices`` (any order, repeats allowed) as N x H x W x 3."""
        inds = np.asarray(indices, dtype=np.int64).reshape(-1)
        if inds.size and (inds.min() < 0 or inds.max() >= len(self)):
            raise VideoReadError(
                f'{self.path}: frames {inds.min()}..{inds.max()} requested, the '
                f'video has {len(self)}')
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
