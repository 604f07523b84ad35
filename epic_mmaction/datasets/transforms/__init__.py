from .segment_decord import SegmentDecordInit, SegmentVideoReader, VideoReadError

__all__ = ['SegmentDecordInit', 'SegmentVideoReader', 'VideoReadError']
