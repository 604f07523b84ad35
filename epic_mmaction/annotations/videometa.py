"""Frame rate and frame count of a video file, from its container header.

PyAV reads only the header (no decoding, no full index as decord builds), so
probing hundreds of hour-long videos for their fps takes seconds.
"""
from dataclasses import dataclass
from typing import Optional

from ..utils.errors import AnnotationError


@dataclass(frozen=True)
class VideoMeta:
    fps: float
    num_frames: Optional[int]  # None when the container does not say


def read_video_meta(path: str) -> VideoMeta:
    """Raises ValueError naming the file if it has no readable video stream."""
    import av
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise AnnotationError(f'{path}: no video stream')
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            if not rate:
                raise AnnotationError(f'{path}: the container gives no frame rate')
            return VideoMeta(float(rate), int(stream.frames) or None)
    except av.error.FFmpegError as e:
        raise AnnotationError(f'{path}: cannot read the video header ({e})') from e
