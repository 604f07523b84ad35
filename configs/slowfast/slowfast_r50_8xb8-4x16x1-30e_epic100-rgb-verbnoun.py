# SlowFast R50, 32 frames every 2nd at 224 px (the slow pathway: 4 every 16th, the
# 4x16x1 of the name, as MMAction2 names it), verb and noun classifiers.
_base_ = ['../_base_/models/slowfast_r50.py', '../_base_/datasets/epic100_segments.py',
          '../_base_/schedules/sgd_cosine_30e.py', '../_base_/default_runtime.py']

clip_len, frame_interval, crop_size, short_side = 32, 2, 224, 256
meta_keys = {{_base_.meta_keys}}
train_pipeline = [
    dict(type='SegmentVideoInit'),
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
    dict(type='SegmentVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=1, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='SampleFrames', clip_len=clip_len, frame_interval=frame_interval,
         num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
# tools/test.py --tta: 10 clips x 3 crops of 256 px (MMAction2's SlowFast test)
tta_pipeline = [
    dict(type='SegmentVideoInit'),
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
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
auto_scale_lr = dict(base_batch_size=64)
