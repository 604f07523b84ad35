# Runtime of the whole-video (single-label) recipes: the shared runtime with
# the best checkpoint by validation top-1 and early stopping on the validation
# loss (ClassificationLossMetric, 'val/loss'). For early stopping on accuracy
# instead: custom_hooks.0.monitor='acc/top1' (the rule follows the key).
_base_ = ['./default_runtime.py']

default_hooks = dict(checkpoint=dict(save_best='acc/top1', rule='greater'))
early_stopping = dict(type='EarlyStoppingHook', monitor='val/loss', patience=5,
                      min_delta=0.001)
preemption = dict(type='PreemptionCheckpointHook', signals=('SIGUSR1', 'SIGTERM'))
custom_hooks = [early_stopping, preemption]
