"""Video readers with decord's interface (``len``, ``get_batch``, ``get_avg_fps``)."""
from ..utils.errors import VideoReadError
from .frame_index import FrameIndex, build_frame_index, load_frame_index
from .open import BACKENDS, open_video_file, open_video_reader
from .pyav_reader import PyAVVideoReader

__all__ = ['BACKENDS', 'FrameIndex', 'PyAVVideoReader', 'VideoReadError',
           'build_frame_index', 'load_frame_index', 'open_video_file',
           'open_video_reader']
