"""Find and drop segments whose videos decord cannot read (tools/clean_segments.py)."""
from .cleaner import CleanerError, clean_segments, default_workers
from .pool import TaskResult, imap_isolated, run_isolated
from .probe import ProbeTask, probe_video

__all__ = [
    'CleanerError', 'clean_segments', 'default_workers', 'TaskResult',
    'imap_isolated', 'run_isolated', 'ProbeTask', 'probe_video'
]
