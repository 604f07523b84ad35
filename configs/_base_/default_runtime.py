# Runtime shared by every config: logging, checkpoints, early stopping,
# preemption. The best checkpoint and early stopping follow action top-1 on
# validation. PreemptionCheckpointHook: on SIGUSR1 (SLURM's time-limit warning,
# sbatch --signal=USR1@300) or SIGTERM (preemption, requeue, scancel) every
# rank stops at the next iteration, rank 0 saves a checkpoint and the run exits
# with code 3; tools/train.py --resume continues from it (slurm/train.sbatch
# requeues itself and does this). The dist backend falls back to gloo without
# CUDA (tools/train.py).
default_scope = 'mmaction'
custom_imports = dict(imports=['epic_mmaction.plugin'], allow_failed_imports=False)

default_hooks = dict(
    runtime_info=dict(type='RuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, ignore_last=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3,
                    save_best='epic/action_top1', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'))
custom_hooks = [
    dict(type='EarlyStoppingHook', monitor='epic/action_top1', rule='greater',
         patience=5, min_delta=0.1),
    dict(type='PreemptionCheckpointHook', signals=('SIGUSR1', 'SIGTERM')),
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
visualizer = dict(type='ActionVisualizer', vis_backends=vis_backends)
log_level = 'INFO'
load_from = None  # a checkpoint to start from (e.g. Kinetics weights): path or URL
resume = False
