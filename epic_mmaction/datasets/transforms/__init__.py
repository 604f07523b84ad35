from .segment_video import SegmentVideoInit, SegmentVideoReader, VideoReadError

__all__ = ['SegmentVideoInit', 'SegmentVideoReader',
           'VideoReadError']
