"""The EPIC verb/noun (or pair) head and a temporal single-label head."""
from ..compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .heads import EpicActionHead, TemporalClsHead  # noqa: E402

__all__ = ['EpicActionHead', 'TemporalClsHead']
