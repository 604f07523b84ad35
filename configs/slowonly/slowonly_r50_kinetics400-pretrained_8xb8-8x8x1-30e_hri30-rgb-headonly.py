# SlowOnly R50 8x8 on HRI30 from Kinetics-400, strategy 1 of 3: head only
# (frozen backbone, BatchNorm statistics kept). 8 frames every 8th at 224 px.
_base_ = ['../_base_/models/slowonly_r50.py', '../_base_/datasets/hri30_videos.py',
          '../_base_/schedules/sgd_cosine_finetune_30e.py', '../_base_/clip_runtime.py']

clip_len, frame_interval = 8, 8
crop_size, short_side = 224, 256
meta_keys = {{_base_.meta_keys}}

model = dict(cls_head=dict(num_classes={{_base_.num_classes}}))
# MMAction2's Kinetics-400 SlowOnly R50 8x8x1 (256 epochs, 75.6 % top-1);
# its 400-way classifier is skipped (shape mismatch)
load_from = ('https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/'
             'slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb/'
             'slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb_20220901-2132fc87.pth')
optim_wrapper = dict(optimizer=dict(lr=0.05))
custom_hooks = [dict(type='FineTuningHook', frozen=['backbone']),
                {{_base_.early_stopping}}, {{_base_.preemption}}]

train_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
tta_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=10, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='ThreeCrop', crop_size=short_side),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
auto_scale_lr = dict(base_batch_size=64)
