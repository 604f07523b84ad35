"""The EPIC segment dataset and its video transform (registered in MMAction2)."""
from ..compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .class_counts import fill_class_counts  # noqa: E402
from .epic_segment_dataset import LABEL_MODES, EpicSegmentVideoDataset  # noqa: E402
from .transforms import SegmentVideoInit, SegmentVideoReader, VideoReadError  # noqa: E402

__all__ = ['EpicSegmentVideoDataset', 'SegmentVideoInit', 'SegmentVideoReader',
           'VideoReadError', 'LABEL_MODES', 'fill_class_counts']
