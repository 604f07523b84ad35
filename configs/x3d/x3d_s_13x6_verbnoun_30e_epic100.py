# X3D-S, 13 frames every 6th at 160 px, verb and noun classifiers.
_base_ = ['../_base_/models/x3d_s.py', '../_base_/datasets/epic100_segments.py',
          '../_base_/schedules/sgd_cosine_30e.py', '../_base_/default_runtime.py']

clip_len, frame_interval, crop_size, short_side = 13, 6, 160, 182
meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='SegmentDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval, num_clips=1),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='RandomResizedCrop'),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='SegmentDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SegmentDecordInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
auto_scale_lr = dict(base_batch_size=64)
