"""Shared by every layer: the error bases, atomic writes, the CLI runner and the
worker pool. Imports nothing heavier than the standard library."""
from ..utils.errors import AnnotationError, EpicError, UsageError, VideoReadError

__all__ = ['EpicError', 'UsageError', 'AnnotationError', 'VideoReadError']
