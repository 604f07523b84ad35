"""Open a video by path with the chosen backend; errors name the video."""
import os.path as osp

from ..utils.errors import VideoReadError
from .pyav_reader import PyAVVideoReader

BACKENDS = ('pyav', 'decord')


def open_video_reader(path: str, backend: str = 'pyav', num_threads: int = 1):
    """A reader with decord's interface (``len``, ``get_batch``, ``get_avg_fps``).

    ``path`` is a video file or a chunk directory written by
    ``tools/reencode_videos.py --chunk-seconds`` (read as one video).
    """
    if osp.isdir(path):
        from .chunks import open_chunked_video  # only if chunks are used
        return open_chunked_video(path, backend, num_threads)
    return open_video_file(path, backend, num_threads)


def open_video_file(path: str, backend: str = 'pyav', num_threads: int = 1):
    """A reader for one file: ``'pyav'`` opens from the container header and
    the file's cached frame index in milliseconds (the index is built once by
    demuxing, see :mod:`.frame_index`) and numbers frames as ffmpeg outputs
    them; ``'decord'`` reads every packet of the file first (slow for long
    videos, but the reader is then fast while it stays cached) and numbers
    some files differently (docs/troubleshooting.md#video-reading)."""
    if backend == 'pyav':
        return PyAVVideoReader(path, num_threads=num_threads)
    if backend != 'decord':
        raise ValueError(f'unknown video backend {backend!r}; choose from {BACKENDS}')
    import decord
    try:
        return decord.VideoReader(path, num_threads=num_threads)
    except Exception as e:  # DECORDError, RuntimeError from native code
        raise VideoReadError(
            f'cannot open video {path} ({type(e).__name__}: '
            f'{str(e).splitlines()[0][:200]}). Run tools/clean_segments.py '
            'on the list to drop broken videos.') from e
