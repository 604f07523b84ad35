from .epic_head import EpicActionHead

__all__ = ['EpicActionHead']
