# The ResNet+LSTM whole-video recipe scaled down to learn on a CPU in about a
# minute (make demo-clips): ResNet18 from scratch, 4 frames spread over each
# clip, a 1-layer LSTM, on the synthetic UCF-layout dataset (coloured shapes
# making class-specific motions, tools/make_synthetic_clips.py). Exercises the
# whole path: class-folder lists, single-label dataset, TemporalClsHead,
# AccMetric, validation loss and early stopping. Frames squashed to 96x96, the
# frame-code strip cut off, the rest squashed to 32x32; no flips (they swap the
# motions). make demo-clips splits by clip, not by group (each group has its
# own background): telling classes apart in unseen scenes needs more data and
# training than a CPU demo has. tools/test.py scores the validation list.
_base_ = ['../r50_lstm/r50_lstm_imagenet-pretrained_4xb16-u8-30e_ucf50-rgb-difflr.py']

data_root = '{{$UCF50_VIDEOS:data/synthetic_ucf/videos}}'
lists_root = '{{$UCF50_LISTS:data_lists/synthetic_ucf}}'
num_classes = 3
num_segments, size = 4, 32
scene = (96, 72)  # (w, h) of a 96x96 frame below the code strip, centred
meta_keys = {{_base_.meta_keys}}

model = dict(
    backbone=dict(depth=18, pretrained=None),
    cls_head=dict(num_classes=num_classes, in_channels=512, dropout_ratio=0.2,
                  temporal=dict(type='lstm', num_segments=num_segments, hidden_size=64,
                                num_layers=1, bidirectional=True, dropout=0.0,
                                pooling='mean')))
train_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(96, 96), keep_ratio=False),
    dict(type='CenterCrop', crop_size=scene),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(96, 96), keep_ratio=False),
    dict(type='CenterCrop', crop_size=scene),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
tta_pipeline = [
    dict(type='SegmentVideoInit'),
    dict(type='UniformSample', clip_len=num_segments, num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(96, 96), keep_ratio=False),
    dict(type='CenterCrop', crop_size=scene),
    dict(type='Resize', scale=(size, size), keep_ratio=False),
    dict(type='FormatShape', input_format='NCHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]
dataset = dict(data_prefix=dict(video=data_root))
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{lists_root}/ucf50_train_clean.txt',
                 pipeline=train_pipeline, **dataset))
val_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{lists_root}/ucf50_val_clean.txt',
                 pipeline=test_pipeline, **dataset))
test_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True,
    dataset=dict(ann_file=f'{lists_root}/ucf50_val_clean.txt',
                 pipeline=test_pipeline, **dataset))

max_epochs = 16
# validation loss rises for the first epochs while the from-scratch model still
# guesses (18 clips): early stopping stays configured but is not allowed to end
# this short run (tests/engine/test_early_stopping.py tests the stopping itself)
early_stopping = dict(type='EarlyStoppingHook', monitor='val/loss', patience=max_epochs,
                      min_delta=0.001)
custom_hooks = [early_stopping, {{_base_.preemption}}]
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=5e-3, weight_decay=1e-4,
                                    _delete_=True),
                     clip_grad=dict(max_norm=10, norm_type=2), paramwise_cfg=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 1, eta_min=1e-5, by_epoch=True,
         begin=1, end=max_epochs, convert_to_iter_based=True),
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(max_keep_ckpts=1))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
