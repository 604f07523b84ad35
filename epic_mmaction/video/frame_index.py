"""Each video's frame timestamps, read once by demuxing and cached.

Frame ``i`` of a video is the ``i``-th frame a sequential libav (ffmpeg)
decode of the file outputs. For a constant-rate file that is the frame at
``start + i / fps``, but cameras drop and duplicate frames, timestamps
jitter, and stream-copied cuts start mid-GOP behind an MP4 edit list, so
arithmetic on the frame rate numbers some videos wrongly. A
:class:`FrameIndex` holds what the decoder will output instead: the sorted
presentation timestamps of the stream's packets (no decoding; packets that
libav discards, such as those before an edit list's start, left out) and the
timestamps of its keyframes, where a reader can start decoding.

Building an index reads the file once, packet by packet, decoding nothing
(0.7 s per hour of 59.94 fps video plus the read; docs/benchmarks.md);
:func:`load_frame_index` keeps it in memory and on disk
(``$EPIC_MMACTION_CACHE_DIR``, default ``$XDG_CACHE_HOME/epic_mmaction`` or
``~/.cache/epic_mmaction``, under ``frame-index/``), keyed by the video's
absolute path, size and mtime and written atomically, so dataloader workers
on several nodes can build the same index at once. An unwritable cache costs
only the rebuild. A tool that visits every video (the cleaner) warms the
cache for training by calling :func:`load_frame_index` on each.
"""
import hashlib
import json
import os
import os.path as osp
import warnings
from collections import OrderedDict
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np

from ..utils.errors import VideoReadError

CACHE_ENV = 'EPIC_MMACTION_CACHE_DIR'
# bump when the index of a file would change (what is indexed, or the format)
FORMAT_VERSION = 1
_MEMORY_ENTRIES = 64  # indexes kept per process (an hour at 60 fps: ~1.7 MB)
_memory: 'OrderedDict[Tuple[str, int, int], FrameIndex]' = OrderedDict()
_warned_dirs = set()


class FrameIndex:
    """Sorted presentation timestamps of the frames a decode outputs.

    Args:
        pts (np.ndarray): int64 timestamps in ``time_base``, ascending
            (repeats allowed); ``pts[i]`` is frame ``i``.
        key_pts (np.ndarray): int64 timestamps of the keyframe packets,
            ascending, including discarded ones a decode can start from.
        time_base (Fraction): The stream's time base.
    """

    def __init__(self, pts: np.ndarray, key_pts: np.ndarray, time_base: Fraction) -> None:
        self.pts = np.ascontiguousarray(pts, dtype=np.int64)
        self.key_pts = np.ascontiguousarray(key_pts, dtype=np.int64)
        self.time_base = Fraction(time_base)
        # the first frame at or after each keyframe: where decoding from it starts
        self.key_pos = np.searchsorted(self.pts, self.key_pts, side='left')

    def __len__(self) -> int:
        return int(self.pts.size)

    def keyframe_before(self, index: int) -> int:
        """Which keyframe (into ``key_pts``) a decode for frame ``index`` starts
        from: the last one at or before it in time; -1 if there is none."""
        return int(np.searchsorted(self.key_pts, self.pts[index], side='right')) - 1

    def position(self, pts: int) -> int:
        """Frame number of the first frame at or after ``pts``."""
        return int(np.searchsorted(self.pts, pts, side='left'))

    def contains(self, pts: int) -> bool:
        i = self.position(pts)
        return i < self.pts.size and int(self.pts[i]) == pts

    @property
    def average_fps(self) -> Optional[float]:
        """Frames per second over the indexed span (None for < 2 frames)."""
        if self.pts.size < 2 or self.pts[-1] == self.pts[0]:
            return None
        span = (int(self.pts[-1]) - int(self.pts[0])) * self.time_base
        return float((self.pts.size - 1) / span)


def build_frame_index(path: str) -> FrameIndex:
    """Demux every packet of the first video stream (no decoding) into an index.

    Raises :class:`VideoReadError` naming the file when no index can be built.
    A read error part-way (a truncated download) ends the index there: a
    sequential decode outputs no more frames either.
    """
    import av
    try:
        container = av.open(path)
    except (av.FFmpegError, OSError) as e:
        raise VideoReadError(
            f'cannot open video {path} ({type(e).__name__}: {e}). Run '
            'tools/clean_segments.py on the list to drop broken videos.') from e
    with container:
        if not container.streams.video:
            raise VideoReadError(f'{path} has no video stream; re-encode or '
                                 're-download it, or drop it from the list')
        stream = container.streams.video[0]
        if not stream.time_base:
            raise VideoReadError(f'{path}: the video stream has no time base; '
                                 're-encode it (tools/reencode_videos.py)')
        pts, keys = [], []
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError:  # truncated or damaged: the decode ends here too
                break
            if packet.size == 0 and packet.pts is None:
                continue  # the flush packet at the end
            if packet.pts is None:
                raise VideoReadError(
                    f'{path}: video packets without timestamps, so frames cannot be '
                    'numbered; remux it to MP4 (ffmpeg -i IN -c copy OUT.mp4) or '
                    're-encode it (tools/reencode_videos.py)')
            if packet.is_keyframe:
                keys.append(packet.pts)
            # libav drops what an edit list cuts away, and the decoder refuses
            # a packet the file ends inside (a truncated download)
            if not (packet.is_discard or packet.is_corrupt):
                pts.append(packet.pts)
        if not pts:
            raise VideoReadError(f'{path}: the video stream holds no frames; '
                                 're-download or re-encode it, or drop it from the list')
        return FrameIndex(np.sort(np.array(pts, np.int64), kind='stable'),
                          np.unique(np.array(keys, np.int64)), Fraction(stream.time_base))


def default_cache_dir() -> str:
    """``$EPIC_MMACTION_CACHE_DIR``, else the per-user cache directory."""
    root = os.environ.get(CACHE_ENV)
    if root is None:
        base = os.environ.get('XDG_CACHE_HOME') or osp.join(osp.expanduser('~'), '.cache')
        root = osp.join(base, 'epic_mmaction')
    return root


def _cache_file(cache_dir: str, path: str) -> str:
    digest = hashlib.sha256(path.encode('utf-8', 'surrogateescape')).hexdigest()
    return osp.join(cache_dir, 'frame-index', digest[:2], digest[2:34] + '.npz')


def _delta(values: np.ndarray) -> np.ndarray:
    # constant-rate timestamps become one repeated step: compresses to bytes
    return np.diff(values, prepend=np.int64(0))


def _read_cached(file: str, key: dict) -> Optional[FrameIndex]:
    try:
        with np.load(file, allow_pickle=False) as data:
            if json.loads(str(data['meta'])) != key:
                return None  # another version of the file, or of this format
            return FrameIndex(np.cumsum(data['pts']), np.cumsum(data['key_pts']),
                              Fraction(int(data['tb'][0]), int(data['tb'][1])))
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign file: rebuild and overwrite it
        return None


def _write_cached(file: str, key: dict, index: FrameIndex) -> None:
    from ..utils.fileio import atomic_write
    try:
        with atomic_write(file, 'wb') as f:
            np.savez_compressed(
                f, meta=np.array(json.dumps(key)), pts=_delta(index.pts),
                key_pts=_delta(index.key_pts),
                tb=np.array([index.time_base.numerator, index.time_base.denominator],
                            np.int64))
    except OSError as e:
        root = osp.dirname(osp.dirname(osp.dirname(file)))
        if root not in _warned_dirs:  # once per process, not per video
            _warned_dirs.add(root)
            warnings.warn(f'cannot write frame indexes to {root} ({e}); videos are '
                          f'indexed again in every process. Set {CACHE_ENV} to a '
                          'writable directory')


def load_frame_index(path: str, cache_dir: Optional[str] = None) -> FrameIndex:
    """The index of ``path``: from memory, from the disk cache, or built and cached.

    Args:
        path (str): The video file.
        cache_dir (str, optional): Cache root; None uses
            :func:`default_cache_dir`, ``''`` keeps indexes in memory only.

    Call it on every video once (e.g. from the cleaner) to spare training
    the builds.
    """
    path = osp.abspath(path)
    try:
        st = os.stat(path)
    except OSError as e:
        raise VideoReadError(f'cannot open video {path} ({type(e).__name__}: '
                             f'{e.strerror}); check the data root and the list') from e
    mem_key = (path, st.st_size, st.st_mtime_ns)
    index = _memory.get(mem_key)
    if index is not None:
        _memory.move_to_end(mem_key)
        return index
    if cache_dir is None:
        cache_dir = default_cache_dir()
    key = dict(version=FORMAT_VERSION, path=path, size=st.st_size,
               mtime_ns=st.st_mtime_ns)
    file = _cache_file(cache_dir, path) if cache_dir else None
    index = _read_cached(file, key) if file else None
    if index is None:
        index = build_frame_index(path)
        if file:
            _write_cached(file, key, index)
    _memory[mem_key] = index
    while len(_memory) > _MEMORY_ENTRIES:
        _memory.popitem(last=False)
    return index


def clear_memory_cache() -> None:
    """Forget the indexes held in this process (tests, long-lived tools)."""
    _memory.clear()
