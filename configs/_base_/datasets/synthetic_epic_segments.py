# The built-in synthetic EPIC-format dataset (tools/make_synthetic_epic.py), as
# the README's demo writes it: small frames and clips, few workers (CPU-friendly).
_base_ = ['./epic100_segments.py']

data_root = '{{$EPIC_VIDEOS:data/synthetic_epic/videos}}'
lists_root = '{{$EPIC_LISTS:data_lists/synthetic_epic}}'

train_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(ann_file=f'{lists_root}/epic100_train_clean.txt',
                 data_prefix=dict(video=data_root),
                 pairs_file=f'{lists_root}/pairs.json'))
val_dataloader = dict(
    batch_size=4, num_workers=2,
    dataset=dict(ann_file=f'{lists_root}/epic100_val_clean.txt',
                 data_prefix=dict(video=data_root),
                 pairs_file=f'{lists_root}/pairs.json'))
test_dataloader = dict(
    num_workers=2,
    dataset=dict(ann_file=f'{lists_root}/epic100_test_clean.txt',
                 data_prefix=dict(video=data_root),
                 pairs_file=f'{lists_root}/pairs.json'))
