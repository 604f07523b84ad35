# TSM-R50 + BiLSTM, 8 frames spread uniformly over the segment at 224 px.
# 16 frames: set num_segments = 16 here (and in the head's temporal dict).
_base_ = ['../_base_/models/tsm_r50_lstm.py', '../_base_/datasets/epic100_segments.py',
          '../_base_/schedules/sgd_cosine_30e.py', '../_base_/default_runtime.py']

num_segments, crop_size, short_side = 8, 224, 256
meta_keys = {{_base_.meta_keys}}
model = dict(backbone=dict(num_segments=num_segments),
             cls_head=dict(temporal=dict(num_segments=num_segments)))
train_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='MultiScaleCrop', input_size=crop_size, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1, num_fixed_crops=13),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
# tools/test.py --tta: 2 uniform samplings x 3 crops of 256 px (TSM's full test)
tta_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='ThreeCrop', crop_size=short_side),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(batch_size=1, dataset=dict(pipeline=test_pipeline))
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=20))
auto_scale_lr = dict(base_batch_size=64)
