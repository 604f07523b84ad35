"""Open a video once per worker and expose only one segment of it to sampling.

Stock ``DecordInit`` reads the whole file into memory for every sample and
sets ``total_frames`` to the whole video, so MMAction2's samplers pick frames
anywhere in it. ``SegmentVideoInit`` opens the file by path, keeps a small
LRU cache of open readers per worker, and sets ``start_index`` /
``total_frames`` to the segment, so ``SampleFrames`` / ``UniformSample`` pick
frames inside it. The reader it hands to ``DecordDecode`` refuses frames
outside ``[segment_start, segment_stop]`` and decodes each distinct frame once,
in ascending order.

The default ``'pyav'`` backend opens a file in milliseconds whatever its
length, from a frame-timestamp index built once per file and cached on disk
(``video/frame_index.py``), and decodes from the keyframe before the first
sampled frame; decord reads every packet of the file to build its index
when a reader is created (seconds for an hour of 1080p), which a reader cache
cannot hide once hundreds of videos are shuffled. ``docs/benchmarks.md``
has the numbers.
"""
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS

from ...annotations.listfile import TO_END
from ...video import BACKENDS, VideoReadError, open_video_reader
from ...video.frames import Frames as _Frames

__all__ = ['SegmentVideoInit', 'SegmentVideoReader',
           'VideoReadError']


class SegmentVideoReader:
    """A video reader restricted to frames ``[start, stop]`` of one video.

    ``decoded`` holds the distinct frame indices of the last ``get_batch``.
    """

    def __init__(self, reader, path: str, start: int, stop: int) -> None:
        self.reader = reader
        self.path = path
        self.start = start
        self.stop = stop
        self.decoded: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return self.stop - self.start + 1

    def _check(self, inds: np.ndarray) -> None:
        if inds.size and (inds.min() < self.start or inds.max() > self.stop):
            raise VideoReadError(
                f'{self.path}: frames {inds.min()}..{inds.max()} requested, but '
                f'the segment is {self.start}..{self.stop}; sampling must use '
                "the 'start_index'/'total_frames' SegmentVideoInit sets")

    def get_batch(self, indices) -> _Frames:
        inds = np.asarray(indices, dtype=np.int64).reshape(-1)
        self._check(inds)
        unique, inverse = np.unique(inds, return_inverse=True)
        ascending = unique.size == inds.size  # sorted, no repeats: no re-indexing
        try:
            frames = self.reader.get_batch(unique.tolist()).asnumpy()
        except VideoReadError:
            raise
        except Exception as e:  # decord raises DECORDError and RuntimeError types
            raise VideoReadError(
                f'{self.path}: cannot decode frames {unique[0]}..{unique[-1]} '
                f'({type(e).__name__}: {str(e).splitlines()[0][:200]}). '
                'Run tools/clean_segments.py --full on the list.') from e
        self.decoded = unique
        if ascending and np.array_equal(unique, inds):
            return _Frames(frames)  # a clip's frames are ~10-70 MB: no extra copy
        return _Frames(frames[inverse])

    def seek(self, index: int) -> None:
        raise VideoReadError(
            f"{self.path}: DecordDecode(mode='efficient') returns the keyframe "
            "before each sampled frame, not the frame; use mode='accurate' (the "
            'default)')


@TRANSFORMS.register_module()
class SegmentVideoInit(BaseTransform):
    """Open the segment's video (cached reader) and point sampling at it.

    Required Keys:

        - filename
        - segment_start
        - segment_stop (``-1``: the video's last frame)

    Modified Keys:

        - segment_stop (``-1`` resolved to the last frame's number)

    Added Keys:

        - video_reader (a :class:`SegmentVideoReader`)
        - total_frames (frames in the segment)
        - start_index (``segment_start``)
        - avg_fps
        - video_total_frames (frames in the whole video)

    Args:
        backend (str): ``'pyav'`` or ``'decord'`` (see the module docstring).
            Defaults to ``'pyav'``.
        num_threads (int): Decoder threads per reader, 0 = auto. Defaults to 1
            (one dataloader worker per core is the better use of cores).
        cache_size (int): Open readers kept per worker, least recently used
            closed first. Defaults to 4.
    """

    def __init__(self, backend: str = 'pyav', num_threads: int = 1,
                 cache_size: int = 4) -> None:
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {BACKENDS}, got {backend!r}')
        if num_threads < 0:
            raise ValueError(f'num_threads must be >= 0 (0 = auto), got {num_threads}')
        if cache_size < 1:
            raise ValueError(f'cache_size must be >= 1, got {cache_size}')
        self.backend = backend
        self.num_threads = num_threads
        self.cache_size = cache_size
        self._readers: Dict[str, object] = OrderedDict()
        self.opened = 0  # readers built so far (cache misses), for tests/benchmarks

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_readers'] = OrderedDict()  # open readers cannot be pickled
        return state

    def _reader(self, path: str):
        reader = self._readers.pop(path, None)
        if reader is None:
            reader = open_video_reader(path, self.backend, self.num_threads)
            self.opened += 1
            while len(self._readers) >= self.cache_size:
                _, old = self._readers.popitem(last=False)
                close = getattr(old, 'close', None)
                if close is not None:
                    close()
        self._readers[path] = reader  # most recently used last
        return reader

    def transform(self, results: dict) -> dict:
        path = results['filename']
        start, stop = int(results['segment_start']), int(results['segment_stop'])
        reader = self._reader(path)
        total = len(reader)
        if stop == TO_END:  # whole-video lists may leave the frame count to us
            stop = total - 1
            results['segment_stop'] = stop
        if not 0 <= start <= stop < total:
            raise VideoReadError(
                f'{path}: segment {start}..{stop} is outside the video '
                f'(0..{total - 1}). Run tools/clean_segments.py on the list.')
        results['video_reader'] = SegmentVideoReader(reader, path, start, stop)
        results['total_frames'] = stop - start + 1
        results['start_index'] = start
        results['avg_fps'] = reader.get_avg_fps()
        results['video_total_frames'] = total
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(backend={self.backend!r}, '
                f'num_threads={self.num_threads}, cache_size={self.cache_size})')
