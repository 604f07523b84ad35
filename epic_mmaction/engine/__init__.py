"""Training engine pieces: preemption checkpoints, channels-last, CPU distributed setup."""
from .dist import setup_cpu_distributed
from .hooks import (EXIT_RESUMABLE, ChannelsLastHook, PreemptionCheckpointHook,
                    TrainingInterrupted)

__all__ = ['PreemptionCheckpointHook', 'TrainingInterrupted', 'EXIT_RESUMABLE',
           'ChannelsLastHook', 'setup_cpu_distributed']
