from ..compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .epic_segment_dataset import (IGNORE_LABEL, LABEL_MODES,
                                   EpicSegmentVideoDataset)
from .transforms import (SegmentDecordInit, SegmentVideoInit, SegmentVideoReader,
                         VideoReadError)

__all__ = ['EpicSegmentVideoDataset', 'SegmentDecordInit', 'SegmentVideoInit',
           'SegmentVideoReader', 'VideoReadError', 'IGNORE_LABEL', 'LABEL_MODES']
