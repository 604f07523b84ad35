from ..compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .heads import *  # noqa: F401,F403

__all__ = ['EpicActionHead', 'TemporalClsHead']
