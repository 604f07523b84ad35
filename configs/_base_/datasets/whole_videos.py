# Whole-video datasets: one labelled clip per file (UCF50, HRI30, ...), lists
# from tools/build_annotations.py --format class-folders|filename, cleaned by
# tools/clean_segments.py. Same dataset and loader as EPIC, in single-label
# mode, so MMAction2's standard heads and AccMetric apply. Dataset configs set
# data_root, lists_root, list_prefix and num_classes; model configs override
# the pipelines (these defaults suit X3D-S: 13 frames every 6th at 160 px).
dataset_type = 'EpicSegmentVideoDataset'
data_root = '{{$CLIPS_VIDEOS:data/clips}}'
lists_root = '{{$CLIPS_LISTS:data_lists/clips}}'
list_prefix = 'clips'
num_classes = 50
label_mode = 'single'

clip_len, frame_interval = 13, 6
crop_size, short_side = 160, 182
meta_keys = ('narration_id', 'video_file', 'video_id')

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
# MMAction2's whole-video test protocol: 10 clips spread over the video, averaged
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
# tools/test.py --tta: 10 clips x 3 crops
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

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{lists_root}/{list_prefix}_train_clean.txt',
        data_prefix=dict(video=data_root),
        label_mode=label_mode,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{lists_root}/{list_prefix}_val_clean.txt',
        data_prefix=dict(video=data_root),
        label_mode=label_mode,
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=f'{lists_root}/{list_prefix}_test_clean.txt',
        data_prefix=dict(video=data_root),
        label_mode=label_mode,
        pipeline=test_pipeline,
        test_mode=True))

# accuracy (AccMetric's acc/top1, acc/top5, acc/mean1, over labelled clips) and
# the validation loss (val/loss) that early stopping follows. An unlabelled
# test list (class -1) gets no accuracy: tools/test.py --dump its predictions.
val_evaluator = [dict(type='LabelledAccMetric'), dict(type='ClassificationLossMetric')]
test_evaluator = [dict(type='LabelledAccMetric')]
