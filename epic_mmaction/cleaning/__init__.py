"""Find and drop segments whose videos the training reader cannot read
(tools/clean_segments.py)."""
from .cleaner import CleanerError, clean_segments
from .probe import ProbeTask, probe_video

__all__ = [
    'CleanerError', 'clean_segments', 'ProbeTask', 'probe_video'
]
