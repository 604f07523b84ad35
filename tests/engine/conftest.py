"""A tiny single-label clip dataset (UCF layout) with its lists, for training tests."""
import os
import os.path as osp

import pytest

from epic_mmaction.annotations.listfile import TO_END, Segment, write_list
from epic_mmaction.synthetic.clips import class_folder_specs, write_clip_dataset

NUM_CLASSES = 4


@pytest.fixture(scope='session')
def tiny_clips(tmp_path_factory):
    """(video root, list dir): 4 classes x 2 clips, 16 frames of 64x64, one
    list ``clips_train.txt`` with every clip (whole videos, stop -1)."""
    root = str(tmp_path_factory.mktemp('tiny_clips'))
    videos, lists = osp.join(root, 'videos'), osp.join(root, 'lists')
    specs = class_folder_specs(NUM_CLASSES, num_groups=1, clips_per_group=2)
    write_clip_dataset(videos, specs, num_frames=16, size=(64, 64))
    os.makedirs(lists)
    write_list(osp.join(lists, 'clips_train.txt'),
               [Segment(s.path, 0, TO_END, s.class_id, -1,
                        osp.splitext(osp.basename(s.path))[0]) for s in specs])
    return videos, lists
