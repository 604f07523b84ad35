"""The clip loaders the loading benchmark compares, one class each.

Each ``load(clip)`` decodes ``clip.frame_inds`` of ``clip.path`` and returns
the RGB frames (H x W x 3 each, as the pipeline hands them on), except the
lower bound, which only decodes.
A loader object lives in one worker process for the whole run, so caches
behave as in a DataLoader worker.
"""
from fractions import Fraction
from typing import Dict, List, Optional

import numpy as np

from .schemes import Clip

LOADERS = ('stock', 'ours', 'ours_decord', 'pyav_naive', 'lower_bound')
class StockLoader:
    """Stock MMAction2: the whole file read into memory per sample."""

    def __init__(self) -> None:
        from mmaction.datasets.transforms import DecordDecode, DecordInit
        self.init = DecordInit(io_backend='disk', num_threads=1)
        self.decode = DecordDecode()

    def load(self, clip: Clip) -> List[np.ndarray]:
        res = self.init(dict(filename=clip.path))
        # restricted to the segment: what a careful user does after DecordInit
        res.update(total_frames=clip.stop - clip.start + 1, start_index=clip.start,
                   frame_inds=np.asarray(clip.frame_inds))
        return self.decode(res)['imgs']  # as the pipeline hands them on


class SegmentLoader:
    """This project's pipeline: ``SegmentVideoInit`` + ``DecordDecode``."""

    def __init__(self, backend: str, cache_size: int = 4) -> None:
        from mmaction.datasets.transforms import DecordDecode

        from epic_mmaction.datasets.transforms import SegmentVideoInit
        self.init = SegmentVideoInit(backend=backend, num_threads=1,
                                     cache_size=cache_size)
        self.decode = DecordDecode()

    def load(self, clip: Clip) -> List[np.ndarray]:
        res = self.init(dict(filename=clip.path, segment_start=clip.start,
                             segment_stop=clip.stop))
        res['frame_inds'] = np.asarray(clip.frame_inds)
        return self.decode(res)['imgs']  # as the pipeline hands them on


def _open(path: str):
    import av
    container = av.open(path)
    stream = container.streams.video[0]
    stream.codec_context.thread_count = 1
    return container, stream


def _index(frame, stream) -> int:
    fps = Fraction(stream.average_rate)
    return round((frame.pts - (stream.start_time or 0)) * Fraction(stream.time_base) * fps)


def _seek(container, stream, index: int) -> None:
    fps, tb = Fraction(stream.average_rate), Fraction(stream.time_base)
    pts = (stream.start_time or 0) + int(index / fps / tb)
    container.seek(pts, stream=stream, backward=True, any_frame=False)


class PyAVNaiveLoader:
    """What a user's own script does: open, seek, convert everything decoded."""

    def load(self, clip: Clip) -> np.ndarray:
        first, last = min(clip.frame_inds), max(clip.frame_inds)
        container, stream = _open(clip.path)
        try:
            _seek(container, stream, first)
            frames: Dict[int, np.ndarray] = {}
            for frame in container.decode(stream):
                index = _index(frame, stream)
                frames[index] = frame.to_ndarray(format='rgb24')
                if index >= last:
                    break
        finally:
            container.close()
        return np.stack([frames[i] for i in clip.frame_inds])


class LowerBoundLoader:
    """Decoding only: keyframe before the first sampled frame to the last.

    Containers stay open (no open cost) and frames stay in YUV: no loader
    that decodes the clip's frames can be faster.
    """

    def __init__(self) -> None:
        self._open: Dict[str, tuple] = {}

    def load(self, clip: Clip) -> Optional[np.ndarray]:
        if clip.path not in self._open:
            self._open[clip.path] = _open(clip.path)
        container, stream = self._open[clip.path]
        first, last = min(clip.frame_inds), max(clip.frame_inds)
        target = first
        while True:  # a seek may land after `first` (B-frames): go further back
            _seek(container, stream, target)
            frames = container.decode(stream)
            index = _index(next(frames), stream)
            if index <= first or target == 0:
                break
            target = max(0, target - (index - first) - 1)
        if index >= last:
            return None
        for frame in frames:
            if _index(frame, stream) >= last:
                break
        return None


def build_loader(name: str, cache_size: int = 4):
    if name == 'stock':
        return StockLoader()
    if name == 'ours':
        return SegmentLoader('pyav', cache_size)
    if name == 'ours_decord':
        return SegmentLoader('decord', cache_size)
    if name == 'pyav_naive':
        return PyAVNaiveLoader()
    if name == 'lower_bound':
        return LowerBoundLoader()
    raise ValueError(f'unknown loader {name!r}; choose from {LOADERS}')
