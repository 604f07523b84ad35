from .heads import *  # noqa: F401,F403

__all__ = ['EpicActionHead', 'TemporalClsHead']
