"""Shared by every layer: the error base, atomic writes, the CLI runner and the
worker pool. Imports nothing heavier than the standard library."""
from .errors import EpicError, UsageError

__all__ = ['EpicError', 'UsageError']
