# EPIC-KITCHENS-100 segments decoded straight from the full-length videos.
# Paths come from the environment, so one config serves every cluster:
#   EPIC_VIDEOS  video root (holds PXX/PXX_YY.MP4, as in the list files)
#   EPIC_LISTS   folder with the (cleaned) list files and pairs.json
#   EPIC_ANNOTATIONS  folder with the official CSVs (tail classes, unseen
#                     participants) for the metric's tail/unseen rows; optional
# Sampling defaults suit X3D-S (13 frames, every 6th, 160 px); model configs
# override the pipelines.
dataset_type = 'EpicSegmentVideoDataset'
data_root = '{{$EPIC_VIDEOS:data/EPIC-KITCHENS}}'
lists_root = '{{$EPIC_LISTS:data_lists}}'
ann_file_train = f'{lists_root}/epic100_train_clean.txt'
ann_file_val = f'{lists_root}/epic100_val_clean.txt'
ann_file_test = f'{lists_root}/epic100_test_clean.txt'
pairs_file = f'{lists_root}/pairs.json'
label_mode = 'verb_noun'

clip_len, frame_interval = 13, 6
crop_size, short_side = 160, 182
meta_keys = ('narration_id', 'participant_id', 'video_id', 'verb_label',
             'noun_label', 'segment_start', 'segment_stop')

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
         num_clips=2, test_mode=True),
    dict(type='DecordDecode'),
    dict(type='Resize', scale=(-1, short_side)),
    dict(type='CenterCrop', crop_size=crop_size),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', meta_keys=meta_keys),
]

# Test-time augmentation (tools/test.py --tta): 10 clips x 3 crops covering the
# whole short side, as MMAction2 tests X3D; the head averages the 30 views.
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
        ann_file=ann_file_train,
        data_prefix=dict(video=data_root),
        label_mode=label_mode,
        pairs_file=pairs_file,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_val,
        data_prefix=dict(video=data_root),
        label_mode=label_mode,
        pairs_file=pairs_file,
        pipeline=val_pipeline,
        test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        ann_file=ann_file_test,
        data_prefix=dict(video=data_root),
        label_mode=label_mode,
        pairs_file=pairs_file,
        pipeline=test_pipeline,
        test_mode=True))

epic_annotations = '{{$EPIC_ANNOTATIONS:none}}'
with_official = epic_annotations != 'none'
val_evaluator = dict(
    type='EpicActionMetric', prefix='epic',
    tail_verbs_file=(f'{epic_annotations}/EPIC_100_tail_verbs.csv'
                     if with_official else None),
    tail_nouns_file=(f'{epic_annotations}/EPIC_100_tail_nouns.csv'
                     if with_official else None),
    unseen_participants_file=(
        f'{epic_annotations}/EPIC_100_unseen_participant_ids_validation.csv'
        if with_official else None))
# tools/test.py scores labelled lists (validation); the test split has no labels
test_evaluator = val_evaluator
