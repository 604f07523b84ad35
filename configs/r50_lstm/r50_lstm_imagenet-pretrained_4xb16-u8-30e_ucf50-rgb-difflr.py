# ResNet50 per-frame features (MMAction2's 2D-recognizer base) -> bidirectional
# LSTM -> one classifier on UCF50, a CNN+LSTM: 8 frames spread uniformly over
# the video, ImageNet ResNet50 weights, the whole network trained with the
# backbone at a tenth of the head's rate. TemporalClsHead is MMAction2's
# BaseHead with the EPIC head's LSTM, so AccMetric reads its pred_score.
_base_ = ['mmaction::_base_/models/tsn_r50.py', '../_base_/datasets/ucf50_videos.py',
          '../_base_/schedules/sgd_cosine_finetune_30e.py', '../_base_/clip_runtime.py']

num_segments = 8
crop_size, short_side = 224, 256
meta_keys = {{_base_.meta_keys}}

model = dict(
    backbone=dict(pretrained='torchvision://resnet50'),
    cls_head=dict(_delete_=True, type='TemporalClsHead',
                  num_classes={{_base_.num_classes}}, in_channels=2048,
                  temporal=dict(type='lstm', num_segments=num_segments, hidden_size=512,
                                num_layers=2, bidirectional=True, dropout=0.2,
                                pooling='mean'),
                  dropout_ratio=0.5, average_clips='prob'))
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))

train_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='UniformSample', clip_len=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='MultiScaleCrop', input_size=crop_size, scales=(1, 0.875, 0.75, 0.66),
         random_crop=False, max_wh_scale_gap=1),
    dict(type='Resize', scale=(crop_size, crop_size), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
val_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='UniformSample', clip_len=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='UniformSample', clip_len=num_segments, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
# tools/test.py --tta: 2 uniform samplings x 3 crops of 256 px
tta_pipeline = [
    dict(type='SegmentVideoInit', backend='pyav', num_threads=1, cache_size=4),
    dict(type='UniformSample', clip_len=num_segments, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='ThreeCrop', crop_size=short_side),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=16, dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
auto_scale_lr = dict(base_batch_size=64)
