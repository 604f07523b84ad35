"""Open a video once per worker and expose only one segment of it to sampling.

Stock ``DecordInit`` reads the whole file into memory for every sample and
sets ``total_frames`` to the whole video, so MMAction2's samplers pick frames
anywhere in it. ``SegmentDecordInit`` opens the file by path, keeps a small
LRU cache of open readers per worker (building a decord index of an hour-long
video costs far more than decoding one clip), and sets ``start_index`` /
``total_frames`` to the segment, so ``SampleFrames`` / ``UniformSample`` pick
frames inside it. The reader it hands to ``DecordDecode`` refuses frames
outside ``[segment_start, segment_stop]`` and decodes each distinct frame once,
in ascending order (no backward seeks).
"""
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmaction.registry import TRANSFORMS


class VideoReadError(RuntimeError):
    """A video (or some of its frames) could not be read; names the video."""


class _Frames:
    """What ``DecordDecode`` expects back from ``get_batch``: ``.asnumpy()``."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def asnumpy(self) -> np.ndarray:
        return self._array


class SegmentVideoReader:
    """A decord reader restricted to frames ``[start, stop]`` of one video.

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
                "the 'start_index'/'total_frames' SegmentDecordInit sets")

    def get_batch(self, indices) -> _Frames:
        inds = np.asarray(indices, dtype=np.int64).reshape(-1)
        self._check(inds)
        unique, inverse = np.unique(inds, return_inverse=True)
        try:
            frames = self.reader.get_batch(unique.tolist()).asnumpy()
        except Exception as e:  # decord raises DECORDError and RuntimeError types
            raise VideoReadError(
                f'{self.path}: cannot decode frames {unique[0]}..{unique[-1]} '
                f'({type(e).__name__}: {str(e).splitlines()[0][:200]}). '
                'Run tools/clean_segments.py --full on the list.') from e
        self.decoded = unique
        return _Frames(frames[inverse])

    def seek(self, index: int) -> None:
        self._check(np.array([index]))
        self.reader.seek(int(index))

    def next(self):
        return self.reader.next()


@TRANSFORMS.register_module()
class SegmentDecordInit(BaseTransform):
    """Open the segment's video with decord (cached) and point sampling at it.

    Required Keys:

        - filename
        - segment_start
        - segment_stop

    Added Keys:

        - video_reader (a :class:`SegmentVideoReader`)
        - total_frames (frames in the segment)
        - start_index (``segment_start``)
        - avg_fps
        - video_total_frames (frames in the whole video)

    Args:
        num_threads (int): Decoder threads per reader. Defaults to 1 (one
            dataloader worker per core is the better use of cores).
        cache_size (int): Open readers kept per worker, least recently used
            evicted. Defaults to 4.
    """

    def __init__(self, num_threads: int = 1, cache_size: int = 4) -> None:
        if num_threads < 0:
            raise ValueError(f'num_threads must be >= 0 (0 = auto), got {num_threads}')
        if cache_size < 1:
            raise ValueError(f'cache_size must be >= 1, got {cache_size}')
        self.num_threads = num_threads
        self.cache_size = cache_size
        self._readers: Dict[str, object] = OrderedDict()
        self.opened = 0  # readers built so far (cache misses), for tests/benchmarks

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_readers'] = OrderedDict()  # decord readers cannot be pickled
        return state

    def _reader(self, path: str):
        reader = self._readers.pop(path, None)
        if reader is None:
            import decord
            try:
                reader = decord.VideoReader(path, num_threads=self.num_threads)
            except Exception as e:  # DECORDError, RuntimeError from native code
                raise VideoReadError(
                    f'cannot open video {path} ({type(e).__name__}: '
                    f'{str(e).splitlines()[0][:200]}). Run tools/clean_segments.py '
                    'on the list to drop broken videos.') from e
            self.opened += 1
            while len(self._readers) >= self.cache_size:
                self._readers.popitem(last=False)
        self._readers[path] = reader  # most recently used last
        return reader

    def transform(self, results: dict) -> dict:
        path = results['filename']
        start, stop = int(results['segment_start']), int(results['segment_stop'])
        reader = self._reader(path)
        total = len(reader)
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
        return (f'{self.__class__.__name__}(num_threads={self.num_threads}, '
                f'cache_size={self.cache_size})')
