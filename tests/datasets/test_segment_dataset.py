"""Frame-exact loading through the real dataset, decord and MMAction2 samplers.

Every synthetic frame carries its index; these tests read the codes of the
decoded frames back and compare them with the annotated segment.
"""
import logging
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import Segment, read_list, write_list
from epic_mmaction.datasets import EpicSegmentVideoDataset, VideoReadError
from epic_mmaction.synthetic.framecode import read_frame_codes
from epic_mmaction.synthetic.generator import (SyntheticConfig, generate,
                                               narration_events)
from mmaction.registry import DATASETS

init_default_scope('mmaction')

TRAIN_PIPELINES = {
    'x3d_13x6': [dict(type='SampleFrames', clip_len=13, frame_interval=6, num_clips=1)],
    'slowfast_32x2': [dict(type='SampleFrames', clip_len=32, frame_interval=2,
                           num_clips=1)],
    'tsm_uniform8': [dict(type='UniformSample', clip_len=8)],
}
TEST_PIPELINES = {
    'x3d_13x6_3clips': [dict(type='SampleFrames', clip_len=13, frame_interval=6,
                             num_clips=3, test_mode=True)],
    'tsm_uniform8_2clips': [dict(type='UniformSample', clip_len=8, num_clips=2,
                                 test_mode=True)],
}


BACKENDS = ('pyav', 'decord')


def build_dataset(ann_file, root, sampler, test_mode=False, label_mode='verb_noun',
                  pairs_file=None, **init_kwargs):
    pipeline = [dict(type='SegmentVideoInit', **init_kwargs), *sampler,
                dict(type='DecordDecode')]
    return DATASETS.build(dict(
        type='EpicSegmentVideoDataset', ann_file=ann_file,
        data_prefix=dict(video=root), pipeline=pipeline, test_mode=test_mode,
        label_mode=label_mode, pairs_file=pairs_file))


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def check_sample(results, truth_event):
    """Decoded frames are exactly frame_inds, all inside the annotated event."""
    codes = read_frame_codes(results['imgs'])
    np.testing.assert_array_equal(codes, results['frame_inds'])
    assert codes.min() >= truth_event['start'] and codes.max() <= truth_event['stop']
    assert results['verb_label'] == truth_event['verb']
    assert results['noun_label'] == truth_event['noun']
    reader = results.get('video_reader')
    assert reader is None  # DecordDecode releases it


class _LongVideos(dict):
    """bframes -> (root, plans, list): each set made when a test first needs it,
    so that no single test pays for both (~50 s each on 2 busy cores)."""

    def __init__(self, tmp_path_factory) -> None:
        super().__init__()
        self.tmp_path_factory = tmp_path_factory

    def __missing__(self, bframes: int):
        root = str(self.tmp_path_factory.mktemp(f'long_b{bframes}'))
        cfg = SyntheticConfig(videos={'train': 4, 'validation': 0, 'test': 0},
                              duration=601, fps=(59.94, 60, 50, 30), width=128,
                              height=72, bframes=bframes, quirks=False,
                              action_seconds=(1.0, 4.0), seed=7 + bframes)
        plans = generate(root, cfg, workers=2)
        lists = osp.join(root, 'lists')
        build_annotations(BuildOptions(annotations_dir=root, out_dir=lists,
                                       data_root=osp.join(root, 'videos'),
                                       splits=('train',)))
        self[bframes] = (root, plans, osp.join(lists, 'epic100_train.txt'))
        return self[bframes]


@pytest.fixture(scope='module')
def long_videos(tmp_path_factory):
    """>= 10-minute videos at 59.94/60/50/30 fps, with and without B-frames
    (``long_videos[bframes]``)."""
    return _LongVideos(tmp_path_factory)


def _events_by_narration(plans):
    return {nid: dict(start=e.start, stop=e.stop, verb=e.verb, noun=e.noun)
            for nid, (_, e) in narration_events(plans).items()}


def _start_middle_end(dataset):
    """Indices of the first, a middle and the last segment of every video."""
    by_video = {}
    for i, info in enumerate(infos(dataset)):
        by_video.setdefault(info['filename'], []).append(i)
    picks = []
    for indices in by_video.values():
        picks += [indices[0], indices[len(indices) // 2], indices[-1]]
    return picks


@pytest.mark.slow
@pytest.mark.xdist_group('long_videos')  # the 10-minute videos are made once
@pytest.mark.parametrize('backend', BACKENDS)
@pytest.mark.parametrize('bframes', [0, 2])
@pytest.mark.parametrize('mode,sampler', [*[(True, s) for s in TEST_PIPELINES.items()],
                                          *[(False, s) for s in TRAIN_PIPELINES.items()]],
                         ids=lambda v: v[0] if isinstance(v, tuple) else f'test={v}')
def test_long_videos_frame_exact(long_videos, bframes, mode, sampler, backend):
    root, plans, ann_file = long_videos[bframes]
    truth = _events_by_narration(plans)
    ds = build_dataset(ann_file, osp.join(root, 'videos'), sampler[1], test_mode=mode,
                       backend=backend)
    picks = _start_middle_end(ds)
    fps_seen = set()
    for idx in picks:
        results = ds[idx]
        check_sample(results, truth[results['narration_id']])
        fps_seen.add(round(results['avg_fps'], 2))
    assert fps_seen == {59.94, 60.0, 50.0, 30.0}
    # the segments picked reach the very start and the end (10 min) of the videos
    starts = [ds.get_data_info(i)['segment_start'] for i in picks]
    stops = [ds.get_data_info(i)['segment_stop'] for i in picks]
    assert min(starts) == 0 and max(stops) >= 600 * 50


@pytest.mark.parametrize('backend', BACKENDS)
def test_all_segments_of_small_dataset(small_epic, tmp_path, backend):
    """Every segment, every split: labels, ranges and decoded frames."""
    root, plans, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path),
                                   data_root=osp.join(root, 'videos')))
    truth = _events_by_narration(plans)
    for split in ('train', 'val'):
        ds = build_dataset(str(tmp_path / f'epic100_{split}.txt'),
                           osp.join(root, 'videos'), TRAIN_PIPELINES['x3d_13x6'],
                           backend=backend)
        for i in range(len(ds)):
            check_sample(ds[i], truth[ds.get_data_info(i)['narration_id']])
    ds = build_dataset(str(tmp_path / 'epic100_test.txt'), osp.join(root, 'videos'),
                       TEST_PIPELINES['x3d_13x6_3clips'], test_mode=True, backend=backend)
    for i in range(len(ds)):
        results = ds[i]
        event = truth[results['narration_id']]
        codes = read_frame_codes(results['imgs'])
        np.testing.assert_array_equal(codes, results['frame_inds'])
        assert event['start'] <= codes.min() and codes.max() <= event['stop']
        assert results['verb_label'] == -1 and results['noun_label'] == -1


def test_label_modes_and_metadata(small_epic, tmp_path):
    root, _, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    val = str(tmp_path / 'epic100_val.txt')
    pairs = str(tmp_path / 'pairs.json')
    segments = read_list(val)
    from epic_mmaction.annotations.pairs import PairVocabulary
    vocab = PairVocabulary.load(pairs)
    sampler = TRAIN_PIPELINES['x3d_13x6']
    videos = osp.join(root, 'videos')
    pair_ds = build_dataset(val, videos, sampler, label_mode='pair', pairs_file=pairs)
    assert any(info['label'] == -1 for info in infos(pair_ds))
    for seg, info in zip(segments, infos(pair_ds)):
        expected = vocab.index(seg.verb, seg.noun)
        assert info['label'] == (-1 if expected is None else expected)
        assert (info['verb_label'], info['noun_label']) == (seg.verb, seg.noun)
        assert info['narration_id'] == seg.narration_id
        assert info['participant_id'] == seg.narration_id.split('_')[0]
    for mode, expect in [('verb', lambda s: s.verb), ('noun', lambda s: s.noun),
                         ('verb_noun', lambda s: [s.verb, s.noun])]:
        ds = build_dataset(val, videos, sampler, label_mode=mode)
        assert [np.asarray(i['label']).tolist() for i in infos(ds)] == \
            [expect(s) for s in segments]
    with pytest.raises(ValueError, match='pairs_file'):
        build_dataset(val, videos, sampler, label_mode='pair')
    with pytest.raises(ValueError, match='label_mode'):
        build_dataset(val, videos, sampler, label_mode='action')


def test_packed_sample_carries_ids(small_epic, tmp_path):
    """Through the full pipeline: narration and participant ids reach data samples."""
    root, _, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    pipeline = [dict(type='SegmentVideoInit'),
                dict(type='SampleFrames', clip_len=4, frame_interval=2, num_clips=1),
                dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 64)),
                dict(type='CenterCrop', crop_size=64),
                dict(type='FormatShape', input_format='NCTHW'),
                dict(type='PackActionInputs',
                     meta_keys=('narration_id', 'participant_id', 'verb_label',
                                'noun_label', 'segment_start', 'segment_stop'))]
    ds = DATASETS.build(dict(type='EpicSegmentVideoDataset',
                             ann_file=str(tmp_path / 'epic100_val.txt'),
                             data_prefix=dict(video=osp.join(root, 'videos')),
                             pipeline=pipeline, label_mode='verb_noun', test_mode=True))
    packed = ds[0]
    sample = packed['data_samples']
    assert packed['inputs'].shape == (1, 3, 4, 64, 64)
    assert sample.narration_id == ds.get_data_info(0)['narration_id']
    assert sample.participant_id == ds.get_data_info(0)['participant_id']
    assert sample.gt_label.tolist() == [sample.verb_label, sample.noun_label]


def test_reader_cache_reuse_and_eviction(small_epic, tmp_path):
    root, _, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    ds = build_dataset(str(tmp_path / 'epic100_train.txt'), osp.join(root, 'videos'),
                       TRAIN_PIPELINES['x3d_13x6'], cache_size=2)
    init = ds.pipeline.transforms[0]
    by_video = {}
    for i, info in enumerate(infos(ds)):
        by_video.setdefault(info['filename'], []).append(i)
    videos = list(by_video)
    assert len(videos) == 3
    for i in by_video[videos[0]]:  # one video, many segments: opened once
        ds[i]
    assert init.opened == 1
    ds[by_video[videos[1]][0]]
    ds[by_video[videos[0]][1]]  # still cached (size 2)
    assert init.opened == 2
    ds[by_video[videos[2]][0]]  # evicts videos[1], the least recently used
    ds[by_video[videos[0]][0]]
    assert init.opened == 3
    ds[by_video[videos[1]][0]]
    assert init.opened == 4
    assert list(init._readers) == [videos[0], videos[1]]


@pytest.mark.parametrize('backend', BACKENDS)
def test_sampling_stays_inside_one_frame_segments(small_epic, tmp_path, backend):
    """Clips longer than the segment loop inside it; never a neighbour's frame."""
    root, plans, _ = small_epic
    plan = plans[0]
    event = plan.events[2]
    ann = tmp_path / 'tiny.txt'
    write_list(str(ann), [Segment(plan.rel_path, event.start, event.start, 1, 2, 'P01_01_x'),
                          Segment(plan.rel_path, event.start, event.start + 2, 1, 2, 'P01_01_y')])
    for sampler in [*TRAIN_PIPELINES.values(), *TEST_PIPELINES.values()]:
        test_mode = sampler[0].get('test_mode', False)
        ds = build_dataset(str(ann), osp.join(root, 'videos'), sampler, test_mode=test_mode,
                           backend=backend)
        for i, stop in enumerate([event.start, event.start + 2]):
            codes = read_frame_codes(ds[i]['imgs'])
            assert codes.min() >= event.start and codes.max() <= stop


def test_reader_refuses_frames_outside_segment(small_epic):
    import decord
    from epic_mmaction.datasets.transforms import SegmentVideoReader
    root, plans, _ = small_epic
    path = osp.join(root, 'videos', plans[0].rel_path)
    reader = SegmentVideoReader(decord.VideoReader(path), path, 100, 120)
    frames = reader.get_batch([120, 100, 110, 100]).asnumpy()
    np.testing.assert_array_equal(read_frame_codes(frames), [120, 100, 110, 100])
    np.testing.assert_array_equal(reader.decoded, [100, 110, 120])
    with pytest.raises(VideoReadError, match='segment is 100..120'):
        reader.get_batch([99, 100])


def _broken_video_list(small_epic, tmp_path):
    root, plans, _ = small_epic
    videos = tmp_path / 'videos'
    good = plans[0]
    (videos / 'P09').mkdir(parents=True)
    os.symlink(osp.join(root, 'videos', good.participant_id), videos / good.participant_id)
    (videos / 'P09' / 'P09_01.MP4').write_bytes(os.urandom(50_000))
    ann = tmp_path / 'list.txt'
    e = good.events[0]
    write_list(str(ann), [Segment(good.rel_path, e.start, e.stop, e.verb, e.noun, 'P01_01_0'),
                          Segment('P09/P09_01.MP4', 0, 50, 1, 1, 'P09_01_0'),
                          Segment(good.rel_path, 0, good.num_frames + 10, 1, 1, 'P01_01_9')])
    return str(ann), str(videos)


def test_broken_clip_in_training_is_logged_and_replaced(small_epic, tmp_path):
    ann, videos = _broken_video_list(small_epic, tmp_path)
    ds = build_dataset(ann, videos, TRAIN_PIPELINES['x3d_13x6'])
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        for idx in (1, 2):
            results = ds[idx]  # another sample is drawn instead
            assert results['narration_id'] == 'P01_01_0'
    finally:
        logger.removeHandler(handler)
    text = '\n'.join(r.getMessage() for r in records)
    assert all(r.levelno == logging.WARNING for r in records)
    assert 'P09/P09_01.MP4' in text and 'skipping P09_01_0' in text
    assert 'outside the video' in text and 'skipping P01_01_9' in text


@pytest.mark.parametrize('backend', BACKENDS)
def test_broken_clip_in_test_mode_names_the_video(small_epic, tmp_path, backend):
    ann, videos = _broken_video_list(small_epic, tmp_path)
    ds = build_dataset(ann, videos, TEST_PIPELINES['x3d_13x6_3clips'], test_mode=True,
                       backend=backend)
    with pytest.raises(VideoReadError, match='P09/P09_01.MP4'):
        ds[1]
    with pytest.raises(VideoReadError, match=r'segment 0\.\.\d+ is outside the video'):
        ds[2]


def test_whole_video_loaders_are_refused(small_epic, tmp_path):
    root, _, _ = small_epic
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(tmp_path)))
    with pytest.raises(ValueError, match='use SegmentVideoInit'):
        DATASETS.build(dict(type='EpicSegmentVideoDataset',
                            ann_file=str(tmp_path / 'epic100_val.txt'),
                            pipeline=[dict(type='DecordInit')], label_mode='verb'))


def test_list_errors_name_file_and_line(tmp_path):
    ann = tmp_path / 'bad.txt'
    ann.write_text('P01/P01_01.MP4 0 10 1 2 P01_01_0\nP01/P01_01.MP4 10 5 1 2 P01_01_1\n')
    with pytest.raises(ValueError, match=r'bad.txt:2: frame range 10..5'):
        EpicSegmentVideoDataset(str(ann), pipeline=[], label_mode='verb')
