"""Training engine pieces: preemption-safe checkpoints, CPU distributed setup."""
from .dist import setup_cpu_distributed
from .hooks import EXIT_RESUMABLE, PreemptionCheckpointHook, TrainingInterrupted

__all__ = ['PreemptionCheckpointHook', 'TrainingInterrupted', 'EXIT_RESUMABLE',
           'setup_cpu_distributed']
