from .epic_head import EpicActionHead
from .temporal_cls_head import TemporalClsHead

__all__ = ['EpicActionHead', 'TemporalClsHead']
