"""Single-label whole-video lists: stop -1, label_mode='single', their metrics and head.

Clips are real MPEG-4/AVI and H.264 files whose frames carry their index;
decoded frames are read back by that code.
"""
import math

import numpy as np
import pytest
import torch
from mmengine.registry import init_default_scope

from epic_mmaction.annotations.listfile import (TO_END, ListFormatError, Segment,
                                                parse_line, write_list)
from epic_mmaction.synthetic.clips import write_class_clip
from epic_mmaction.synthetic.framecode import read_frame_codes
from mmaction.registry import DATASETS, METRICS, MODELS
from mmaction.structures import ActionDataSample

init_default_scope('mmaction')

NUM_FRAMES = {'a.avi': 20, 'b.mp4': 27}


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    root = tmp_path_factory.mktemp('whole_video')
    for i, (name, n) in enumerate(NUM_FRAMES.items()):
        write_class_clip(str(root / 'videos' / name), class_id=i, num_frames=n)
    ann = str(root / 'list.txt')
    write_list(ann, [Segment('a.avi', 0, TO_END, 0, -1, 'a'),
                     Segment('b.mp4', 3, TO_END, 1, -1, 'b'),
                     Segment('b.mp4', 0, 9, -1, -1, 'b_head')])
    return str(root / 'videos'), ann


def test_list_stop_minus_one_means_to_the_end():
    seg = parse_line('v/x.avi 0 -1 3 -1 x')
    assert seg.to_end and seg.num_frames is None and seg.verb == 3 and seg.noun == -1
    assert parse_line('v/x.avi 0 9 3 -1 x').num_frames == 10
    with pytest.raises(ListFormatError, match='f.txt:7: frame range 5..-2'):
        parse_line('x.avi 5 -2 0 -1 x', 'f.txt:7')
    with pytest.raises(ListFormatError, match='frame range 5..3'):
        parse_line('x.avi 5 3 0 -1 x')


def build(ann, root, label_mode='single', sampler=None, backend='pyav'):
    sampler = sampler or [dict(type='UniformSample', clip_len=6, test_mode=True)]
    return DATASETS.build(dict(
        type='EpicSegmentVideoDataset', ann_file=ann, data_prefix=dict(video=root),
        label_mode=label_mode, test_mode=True,
        pipeline=[dict(type='SegmentVideoInit', backend=backend), *sampler,
                  dict(type='DecordDecode')]))


@pytest.mark.parametrize('backend', ['pyav', 'decord'])
def test_to_end_segments_decode_up_to_the_last_frame(clips, backend):
    root, ann = clips
    ds = build(ann, root, backend=backend)
    for idx, (start, stop, label) in enumerate([(0, 19, 0), (3, 26, 1), (0, 9, -1)]):
        out = ds[idx]
        assert (out['segment_start'], out['segment_stop'], out['label']) == (start, stop, label)
        assert out['total_frames'] == stop - start + 1
        codes = read_frame_codes(out['imgs'])
        np.testing.assert_array_equal(codes, out['frame_inds'])
        assert codes.min() >= start and codes.max() <= stop
        # uniform sampling spans the whole clip: its last segment ends at stop
        assert codes.max() > stop - (stop - start + 1) / 6
    assert ds.get_data_info(1)['video_file'] == 'b.mp4'


def test_single_mode_refuses_epic_rows(tmp_path, clips):
    root, _ = clips
    ann = str(tmp_path / 'epic.txt')
    write_list(ann, [Segment('a.avi', 0, 9, 2, 5, 'P01_01_0')])
    with pytest.raises(ValueError, match=r"epic.txt:1: P01_01_0 has a noun class \(5\)"):
        build(ann, root)
    assert build(ann, root, label_mode='verb_noun')[0]['label'].tolist() == [2, 5]


def sample(score, label):
    s = ActionDataSample().set_gt_label(label)
    s.set_pred_score(torch.tensor(score))
    return s.to_dict()


def test_classification_loss_is_the_nll_of_labelled_clips():
    metric = METRICS.build(dict(type='ClassificationLossMetric'))
    metric.dataset_meta = {}
    metric.process(None, [sample([0.7, 0.2, 0.1], 0), sample([0.25, 0.5, 0.25], 2),
                          sample([0.1, 0.1, 0.8], -1), sample([1.0, 0.0, 0.0], 1)])
    got = metric.evaluate(4)
    want = (-math.log(0.7) - math.log(0.25) - math.log(1e-12)) / 3
    assert got == {'val/loss': pytest.approx(want)}


def test_labelled_accuracy_skips_unlabelled_clips(caplog):
    metric = METRICS.build(dict(type='LabelledAccMetric'))
    metric.process(None, [sample([0.7, 0.2, 0.1], 0), sample([0.25, 0.5, 0.25], 2),
                          sample([0.1, 0.1, 0.8], -1)])
    got = metric.evaluate(3)
    assert got['acc/top1'] == pytest.approx(0.5) and got['acc/top5'] == pytest.approx(1.0)
    metric.process(None, [sample([0.1, 0.1, 0.8], -1)])
    assert metric.evaluate(1) == {}


def test_temporal_cls_head_is_a_standard_mmaction_head():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='TemporalClsHead', num_classes=5, in_channels=16,
                             temporal=dict(type='lstm', num_segments=4, hidden_size=8,
                                           num_layers=1, bidirectional=True, dropout=0.0,
                                           pooling='mean'),
                             average_clips='prob'))
    head.init_weights()
    feats = torch.randn(2 * 4, 16, 3, 3)  # 2 clips x 4 frames, per-frame maps
    assert head(feats).shape == (2, 5)
    samples = [ActionDataSample().set_gt_label(3), ActionDataSample().set_gt_label(1)]
    losses = head.loss(feats, samples)
    assert set(losses) >= {'loss_cls', 'top1_acc'} and losses['loss_cls'].requires_grad
    # 2 views per sample at test time: probabilities averaged per sample
    preds = head.predict(torch.randn(2 * 2 * 4, 16, 3, 3),
                         [ActionDataSample(), ActionDataSample()])
    for p in preds:
        assert p.pred_score.shape == (5,)
        assert float(p.pred_score.detach().sum()) == pytest.approx(1.0, abs=1e-5)
