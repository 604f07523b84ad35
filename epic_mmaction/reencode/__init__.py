"""Re-encode videos for fast random access (tools/reencode_videos.py).

Short GOPs and/or fixed-length chunks at a chosen size and rate; the list
files are rewritten so every segment still shows the same frames.
"""
from .lists import VideoOutput, rewrite_list
from ..video.manifest import ManifestError, load_manifest, output_rel_path
from .plan import (map_segment, output_fps, output_frame_count, output_size,
                   parse_fps, source_frame)
from .report import format_storage_table, storage_summary
from .runner import DEFAULT_TIMEOUT, ReencodeError, reencode_videos
from .settings import EncodeSettings, SettingsError
from .transcode import TranscodeError, transcode_video
from .verify import VerifyError, verify_output

__all__ = [
    'VideoOutput',
    'rewrite_list', 'ManifestError', 'load_manifest', 'output_rel_path', 'map_segment',
    'output_fps', 'output_frame_count', 'output_size', 'parse_fps', 'source_frame',
    'format_storage_table', 'storage_summary', 'DEFAULT_TIMEOUT',
    'ReencodeError', 'reencode_videos', 'EncodeSettings', 'SettingsError',
    'TranscodeError', 'transcode_video', 'VerifyError', 'verify_output'
]
