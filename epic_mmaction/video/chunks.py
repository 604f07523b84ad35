"""Read a chunked video (a directory of fixed-length MP4s) as one video.

``tools/reencode_videos.py --chunk-seconds S`` writes ``P01_01.MP4.chunks/``
with ``00000.mp4, 00001.mp4, ...`` of ``chunk_frames`` frames each and a
``chunks.json`` manifest. :class:`ChunkedVideoReader` offers decord's reader
interface over it (``len``, ``get_batch``, ``get_avg_fps``, ``seek``/``next``):
global frame ``g`` is frame ``g - start`` of the chunk holding it. Chunk
readers are opened lazily with the loader's backend and a few kept open, so
a clip opens one or two small files instead of indexing an hour-long one.
:func:`epic_mmaction.video.open_video_reader` (the loader's entry point)
hands a chunk directory to :func:`open_chunked_video`.
"""
import os.path as osp
from collections import OrderedDict
from fractions import Fraction
from typing import Dict, Sequence

import numpy as np

from ..utils.errors import VideoReadError
from .frames import Frames as _Frames
from .open import open_video_file as _open_file
from .manifest import CHUNK_MANIFEST, ManifestError, load_manifest


class ChunkedVideoReader:
    """One video stored as chunks, read like one decord ``VideoReader``.

    Args:
        path (str): The chunk directory (holding ``chunks.json``).
        backend (str): Reader for the chunk files, as for
            :func:`epic_mmaction.video.open_video_reader`. Defaults to 'pyav'.
        num_threads (int): Decoder threads per chunk reader. Defaults to 1.
        cache_size (int): Chunk readers kept open, least recently used closed
            first. Defaults to 2 (a clip spans at most a boundary or two).
    """

    def __init__(self, path: str, backend: str = 'pyav', num_threads: int = 1,
                 cache_size: int = 2) -> None:
        if cache_size < 1:
            raise ValueError(f'cache_size must be >= 1, got {cache_size}')
        self.path = path
        self.backend = backend
        self.num_threads = num_threads
        self.cache_size = cache_size
        try:
            self.manifest = load_manifest(osp.join(path, CHUNK_MANIFEST))
        except ManifestError as e:
            raise VideoReadError(f'cannot open chunked video {path}: {e}') from None
        if self.manifest['chunk_frames'] is None:
            raise VideoReadError(f'{path}: {CHUNK_MANIFEST} describes a one-file '
                                 'output, not chunks')
        files = self.manifest['files']
        self._names = [entry['name'] for entry in files]
        self._starts = np.array([entry['start'] for entry in files], np.int64)
        self._len = int(self.manifest['num_frames'])
        self._fps = float(Fraction(self.manifest['fps']))
        self._size = (int(self.manifest['height']), int(self.manifest['width']))
        self._readers: Dict[int, object] = OrderedDict()
        self._pos = 0
        self.opened = 0  # chunk readers opened so far, for tests and benchmarks

    def __len__(self) -> int:
        return self._len

    def get_avg_fps(self) -> float:
        return self._fps

    @property
    def num_chunks(self) -> int:
        return len(self._names)

    def chunk_of(self, index: int) -> int:
        """The chunk holding global frame ``index``."""
        return int(np.searchsorted(self._starts, index, side='right') - 1)

    def _chunk_reader(self, k: int):
        reader = self._readers.pop(k, None)
        if reader is None:
            reader = _open_file(osp.join(self.path, self._names[k]), self.backend,
                                self.num_threads)
            self.opened += 1
            while len(self._readers) >= self.cache_size:
                _, old = self._readers.popitem(last=False)
                _close(old)
        self._readers[k] = reader  # most recently used last
        return reader

    def get_batch(self, indices: Sequence[int]) -> _Frames:
        """RGB frames ``indices`` (any order, repeats allowed) as N x H x W x 3.

        Each chunk involved is asked once, for its frames in ascending order.
        """
        inds = np.asarray(indices, dtype=np.int64).reshape(-1)
        if inds.size == 0:
            return _Frames(np.zeros((0, *self._size, 3), np.uint8))
        if inds.min() < 0 or inds.max() >= self._len:
            raise VideoReadError(f'{self.path}: frames {inds.min()}..{inds.max()} '
                                 f'requested, the video has {self._len}')
        unique, inverse = np.unique(inds, return_inverse=True)
        chunk_ids = np.searchsorted(self._starts, unique, side='right') - 1
        parts = []
        for k in np.unique(chunk_ids):
            local = unique[chunk_ids == k] - self._starts[k]
            chunk = osp.join(self.path, self._names[k])
            try:
                frames = self._chunk_reader(int(k)).get_batch(local.tolist()).asnumpy()
            except VideoReadError:
                raise
            except Exception as e:  # decord's native errors
                raise VideoReadError(
                    f'{chunk}: cannot decode frames {local[0]}..{local[-1]} '
                    f'({type(e).__name__}: {str(e).splitlines()[0][:200]}); run '
                    'tools/reencode_videos.py again to redo damaged chunks') from e
            if frames.shape[0] != local.size:
                raise VideoReadError(f'{chunk}: asked for {local.size} frames, got '
                                     f'{frames.shape[0]}; re-encode the video')
            parts.append(frames)
        return _Frames(np.concatenate(parts)[inverse])

    def seek(self, index: int) -> None:
        """Make frame ``index`` the one :meth:`next` returns."""
        if not 0 <= index < self._len:
            raise VideoReadError(f'{self.path}: cannot seek to frame {index}, the '
                                 f'video has {self._len}')
        self._pos = int(index)

    def next(self) -> _Frames:
        """The frame at the current position (exactly it), then move on."""
        if self._pos >= self._len:
            raise StopIteration
        frame = self.get_batch([self._pos]).asnumpy()[0]
        self._pos += 1
        return _Frames(frame)

    def close(self) -> None:
        while self._readers:
            _close(self._readers.popitem()[1])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state['_readers'] = OrderedDict()  # open readers cannot be pickled
        return state

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to release
            pass


def _close(reader) -> None:
    close = getattr(reader, 'close', None)  # decord readers have none
    if close is not None:
        close()


def is_chunked_video(path: str) -> bool:
    """Whether ``path`` is a chunk directory written by the re-encoder."""
    return osp.isfile(osp.join(path, CHUNK_MANIFEST))


def open_chunked_video(path: str, backend: str = 'pyav', num_threads: int = 1):
    """A :class:`ChunkedVideoReader` for ``path``; errors name the directory."""
    if not is_chunked_video(path):
        raise VideoReadError(
            f'{path} is a directory without {CHUNK_MANIFEST}: not a chunked video '
            'written by tools/reencode_videos.py (or one it did not finish; '
            'run it again)')
    return ChunkedVideoReader(path, backend, num_threads)
