"""Test-time augmentation: every model config's tta_pipeline gives clips x 3 crops
of frames inside the segment, packed as one sample the head averages."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.evaluation.tta import use_tta_pipeline
from epic_mmaction.synthetic.framecode import read_frame_codes
from mmaction.registry import DATASETS

from ..conftest import REPO

init_default_scope('mmaction')

# config -> (clips, crops, frames per clip) of its tta_pipeline
VIEWS = {
    'x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py': (10, 3, 13),
    'x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-pair.py': (10, 3, 13),
    'slowfast/slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-verbnoun.py': (10, 3, 32),
    'slowfast/slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-pair.py': (10, 3, 32),
    'tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py': (2, 3, 8),
    'tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-pair.py': (2, 3, 8),
    'r50_lstm/r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py': (2, 3, 8),
    'demo/x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py': (3, 1, 4),
}


@pytest.fixture(scope='module')
def val_list(small_epic, tmp_path_factory):
    root, _, _ = small_epic
    out = tmp_path_factory.mktemp('tta_lists')
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(out),
                                   data_root=osp.join(root, 'videos')))
    return osp.join(root, 'videos'), str(out / 'epic100_val.txt')


def tta_dataset(config, videos, ann_file, upto=None):
    cfg = use_tta_pipeline(Config.fromfile(osp.join(REPO, 'configs', config)), config)
    pipeline = cfg.test_dataloader.dataset.pipeline
    if upto is not None:
        pipeline = pipeline[:[s['type'] for s in pipeline].index(upto) + 1]
    return DATASETS.build(dict(
        type='EpicSegmentVideoDataset', ann_file=ann_file, data_prefix=dict(video=videos),
        pipeline=pipeline, test_mode=True, label_mode='verb_noun'))


@pytest.mark.parametrize('config', sorted(VIEWS))
def test_tta_views_come_from_the_segment(config, val_list):
    videos, ann_file = val_list
    clips, crops, frames = VIEWS[config]
    decoded = tta_dataset(config, videos, ann_file, upto='DecordDecode')
    for i in (0, len(decoded) - 1):
        results = decoded[i]
        codes = read_frame_codes(results['imgs'])
        np.testing.assert_array_equal(codes, results['frame_inds'])
        assert len(codes) == clips * frames
        info = decoded.get_data_info(i)
        assert info['segment_start'] <= codes.min() and codes.max() <= info['segment_stop']
    packed = tta_dataset(config, videos, ann_file)[0]['inputs']
    views = clips * crops if packed.ndim == 5 else clips * crops * frames  # NCTHW / NCHW
    assert packed.shape[0] == views


def test_use_tta_pipeline_explains_missing_or_single_view():
    cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[]))))
    with pytest.raises(ValueError, match='defines no tta_pipeline'):
        use_tta_pipeline(cfg, 'my.py')
    cfg.tta_pipeline = [dict(type='SampleFrames', clip_len=8, num_clips=1),
                        dict(type='CenterCrop', crop_size=64)]
    with pytest.raises(ValueError, match='one view only'):
        use_tta_pipeline(cfg, 'my.py')
    cfg.tta_pipeline[1] = dict(type='ThreeCrop', crop_size=64)
    assert use_tta_pipeline(cfg).test_dataloader.dataset.pipeline[1]['type'] == 'ThreeCrop'
