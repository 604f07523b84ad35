"""Training engine pieces: preemption checkpoints, channels-last, fine-tuning
strategies, CPU distributed setup."""
from ..compat import apply_all

apply_all()  # before the first `import mmaction.models`

from .dist import destroy_distributed, setup_cpu_distributed  # noqa: E402
from .hooks import (  # noqa: E402
    EXIT_RESUMABLE, ChannelsLastHook, FineTuningHook,
                    PreemptionCheckpointHook, TrainingInterrupted, hand_over_startup_signals)

__all__ = ['PreemptionCheckpointHook', 'TrainingInterrupted', 'EXIT_RESUMABLE',
           'ChannelsLastHook', 'FineTuningHook', 'setup_cpu_distributed',
           'destroy_distributed', 'hand_over_startup_signals']
