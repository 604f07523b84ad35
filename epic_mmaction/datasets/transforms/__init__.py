from .segment_video import (SegmentDecordInit, SegmentVideoInit, SegmentVideoReader,
                            VideoReadError)

__all__ = ['SegmentDecordInit', 'SegmentVideoInit', 'SegmentVideoReader',
           'VideoReadError']
