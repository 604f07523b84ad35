# UCF50 (folder per class, groups _gXX_), lists from
#   tools/build_annotations.py $UCF50_VIDEOS --format class-folders \
#       --prefix ucf50 --out-dir $UCF50_LISTS   (70/15/15, groups kept together)
# then tools/clean_segments.py on each split (-> ucf50_{split}_clean.txt).
_base_ = ['./whole_videos.py']

data_root = '{{$UCF50_VIDEOS:data/UCF50}}'
lists_root = '{{$UCF50_LISTS:data_lists/ucf50}}'
list_prefix = 'ucf50'
num_classes = 50

train_dataloader = dict(dataset=dict(
    ann_file=f'{lists_root}/{list_prefix}_train_clean.txt', data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(
    ann_file=f'{lists_root}/{list_prefix}_val_clean.txt', data_prefix=dict(video=data_root)))
test_dataloader = dict(dataset=dict(
    ann_file=f'{lists_root}/{list_prefix}_test_clean.txt', data_prefix=dict(video=data_root)))
