"""Video readers with decord's interface (``len``, ``get_batch``, ``get_avg_fps``)."""
from ..utils.errors import VideoReadError
from .open import BACKENDS, open_video_file, open_video_reader
from .pyav_reader import PyAVVideoReader

__all__ = ['BACKENDS', 'PyAVVideoReader', 'VideoReadError', 'open_video_file',
           'open_video_reader']
