from .channels_last import ChannelsLastHook
from .fine_tuning import FineTuningHook
from .preemption import (EXIT_RESUMABLE, PreemptionCheckpointHook, TrainingInterrupted,
                         hand_over_startup_signals)

__all__ = ['PreemptionCheckpointHook', 'TrainingInterrupted', 'EXIT_RESUMABLE',
           'ChannelsLastHook', 'FineTuningHook', 'hand_over_startup_signals']
