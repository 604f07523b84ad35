# HRI30 (class coded in the file name, train/CIDxx_SIDyy_VIDzz.avi), lists from
#   tools/build_annotations.py $HRI30_VIDEOS --format filename --prefix hri30 \
#       --split-dir auto=train --split-ratios 0.7 0.15 0.15 --out-dir $HRI30_LISTS
# (the labelled folder split three ways, so tools/test.py reports accuracy),
# then tools/clean_segments.py on each split (-> hri30_{split}_clean.txt).
_base_ = ['./whole_videos.py']

data_root = '{{$HRI30_VIDEOS:data/HRI30}}'
lists_root = '{{$HRI30_LISTS:data_lists/hri30}}'
list_prefix = 'hri30'
num_classes = 30

train_dataloader = dict(dataset=dict(
    ann_file=f'{lists_root}/{list_prefix}_train_clean.txt', data_prefix=dict(video=data_root)))
val_dataloader = dict(dataset=dict(
    ann_file=f'{lists_root}/{list_prefix}_val_clean.txt', data_prefix=dict(video=data_root)))
test_dataloader = dict(dataset=dict(
    ann_file=f'{lists_root}/{list_prefix}_test_clean.txt', data_prefix=dict(video=data_root)))
