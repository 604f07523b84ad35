"""Single-label results files: DumpClipResults round trip, save/load, clear errors."""
import argparse
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from epic_mmaction.results import (CLIP_RESULTS_VERSION, ClipResults, EpicResults,
                                   ResultsFileError, clip_record_from_sample,
                                   load_any_results, load_clip_results, load_results,
                                   save_clip_results, save_results)
from epic_mmaction.evaluation.metrics import DumpClipResults
from mmaction.structures import ActionDataSample

from ..conftest import load_tool

init_default_scope('mmaction')

SCORES = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8],
                   [0.3, 0.3, 0.4]], np.float32)
LABELS = [0, 1, 1, 2, -1]  # top-1: 0 (hit), 2 (miss), 1 (hit), 2 (hit), unlabelled


def make_sample(score, label, clip_id, video_file=None):
    """What a standard-head recognizer's predict() returns for one clip."""
    sample = ActionDataSample()
    meta = dict(narration_id=clip_id)
    if video_file is not False:
        meta['video_file'] = video_file or f'Class/{clip_id}.avi'
    sample.set_metainfo(meta)
    sample.set_gt_label(label)
    sample.set_pred_score(torch.as_tensor(score))
    return sample


def samples():
    return [make_sample(s, label, f'v_clip_{i}') for i, (s, label) in enumerate(zip(SCORES,
                                                                                   LABELS))]


def arrays(**change):
    """The arrays of a valid clip results file, with some replaced."""
    out = dict(format=np.array('epic_mmaction.clip_results'),
               version=np.array(CLIP_RESULTS_VERSION, dtype=np.int64),
               clip_id=np.array(['a', 'b']), video=np.array(['A/a.avi', 'B/b.avi']),
               score=np.full((2, 4), 0.25, np.float32), label=np.array([3, -1]))
    out.update(change)
    return {k: v for k, v in out.items() if v is not None}


def test_dump_round_trip_matches_acc_metric(tmp_path):
    out_file = str(tmp_path / 'dump' / 'test_results.npz')
    labelled = samples()[:4]  # AccMetric has no notion of unlabelled clips
    evaluator = Evaluator([dict(type='AccMetric'),
                           dict(type='DumpClipResults', out_file=out_file)])
    evaluator.process(data_samples=labelled[:3], data_batch=None)
    evaluator.process(data_samples=labelled[3:], data_batch=None)
    metrics = evaluator.evaluate(size=len(labelled))
    assert set(metrics) == {'acc/top1', 'acc/top5', 'acc/mean1'}  # the dump adds none

    results = load_clip_results(out_file)
    assert len(results) == 4 and results.num_classes == 3
    assert results.version == CLIP_RESULTS_VERSION
    assert results.clip_id.tolist() == [f'v_clip_{i}' for i in range(4)]
    assert results.video.tolist() == [f'Class/v_clip_{i}.avi' for i in range(4)]
    assert results.score.dtype == np.float32 and results.label.dtype == np.int64
    np.testing.assert_array_equal(results.score, SCORES[:4])
    assert results.label.tolist() == LABELS[:4]
    # the file gives AccMetric's numbers offline
    top1 = np.mean(results.score.argmax(axis=1) == results.label)
    assert top1 == pytest.approx(metrics['acc/top1']) == 0.75
    with np.load(out_file, allow_pickle=False) as npz:  # plain numpy, no pickle
        assert str(npz['format']) == 'epic_mmaction.clip_results'
        assert npz['clip_id'].dtype.kind == 'U' and npz['video'].dtype.kind == 'U'
    assert os.listdir(tmp_path / 'dump') == ['test_results.npz']


def test_unlabelled_clips_and_process_directly(tmp_path):
    metric = DumpClipResults(out_file=str(tmp_path / 'r.npz'))
    metric.process(None, [s.to_dict() for s in samples()])
    assert metric.compute_metrics(metric.results) == {}
    results = load_any_results(str(tmp_path / 'r.npz'))
    assert isinstance(results, ClipResults)
    assert results.label.tolist() == LABELS
    assert results.labelled.tolist() == [True] * 4 + [False]
    assert results.take(results.labelled).clip_id.tolist() == [f'v_clip_{i}'
                                                               for i in range(4)]
    assert 'DumpClipResults(out_file=' in repr(metric)


def test_record_needs_the_meta_keys():
    record = clip_record_from_sample(samples()[1].to_dict())
    assert record['clip_id'] == 'v_clip_1' and record['video'] == 'Class/v_clip_1.avi'
    assert record['label'] == 1 and type(record['label']) is int
    assert record['score'].dtype == np.float32 and record['score'].shape == (3, )
    no_video = make_sample(SCORES[0], 0, 'v_clip_0', video_file=False).to_dict()
    with pytest.raises(KeyError, match=r"lacks \['video_file'\].*PackActionInputs\(meta_keys"):
        clip_record_from_sample(no_video)
    multi = make_sample(SCORES[0], 0, 'v_clip_0').to_dict()
    multi['gt_label'] = torch.tensor([0, 2])
    with pytest.raises(ValueError, match='v_clip_0: gt_label must be one class id'):
        clip_record_from_sample(multi)


def test_save_and_load_and_the_other_kind(tmp_path):
    path = str(tmp_path / 'r.npz')
    records = [clip_record_from_sample(s.to_dict()) for s in samples()]
    written = save_clip_results(path, records)
    loaded = load_clip_results(path)
    for key in ('clip_id', 'video', 'score', 'label'):
        np.testing.assert_array_equal(getattr(loaded, key), getattr(written, key))
    # a ClipResults saves too, float64 scores stored as float32
    save_clip_results(path, ClipResults(**{**loaded.__dict__,
                                           'score': loaded.score.astype(np.float64)}))
    assert load_clip_results(path).score.dtype == np.float32
    # EPIC readers name the kind they got, and load_any_results reads both
    with pytest.raises(ResultsFileError, match=f'{path}: holds single-label clip results '
                       r"\(format 'epic_mmaction.clip_results'\), not EPIC verb/noun"):
        load_results(path)
    epic = str(tmp_path / 'epic.npz')
    save_results(epic, EpicResults(
        narration_id=np.array(['P01_01_0']), participant_id=np.array(['P01']),
        verb_score=np.ones((1, 2), np.float32) / 2, noun_score=np.ones((1, 2), np.float32) / 2,
        verb_label=np.array([0]), noun_label=np.array([1])))
    assert isinstance(load_any_results(epic), EpicResults)
    with pytest.raises(ResultsFileError, match=f'{epic}: holds EPIC verb/noun results'):
        load_clip_results(epic)
    np.savez(path, format=np.array('other'))
    with pytest.raises(ResultsFileError, match=f"{path}: not an epic_mmaction results file "
                       r"\(format 'other'\)"):
        load_any_results(path)


@pytest.mark.parametrize('change, message', [
    (dict(format=np.array('epic_mmaction.results')),
     r"holds EPIC verb/noun results \(format 'epic_mmaction.results'\), not single-label"),
    (dict(format=np.array('other')), r"not an epic_mmaction results file \(format 'other'\)"),
    (dict(score=np.full((3, 4), 0.25, np.float32)), 'arrays disagree on the number of clips'),
    (dict(label=np.array([3, -1, 0])), 'arrays disagree on the number of clips'),
    (dict(label=np.array([4, -1])), r'label must be -1 \(unlabelled\) or in \[0, 4\), got '
     r"\[4\] for e.g. \['a'\]"),
    (dict(label=np.array([0, -2])), r"in \[0, 4\), got \[-2\] for e.g. \['b'\]"),
    (dict(label=np.array([0.0, 1.0])), 'label must be a 1-D integer array'),
    (dict(score=np.full(2, 0.5, np.float32)), r'score must be a 2-D float array \[clips, '),
    (dict(score=np.array([[0.25] * 4, [np.nan] * 4], np.float32)),
     r"score of 1 clips is not finite \(NaN/inf\), e.g. \['b'\]"),
    (dict(clip_id=np.array(['a', 'a'])), r"1 duplicate clip ids, e.g. \['a'\]"),
    (dict(video=None), r"missing arrays \['video'\]"),
    (dict(version=np.array(CLIP_RESULTS_VERSION + 1)), 'format version 2, this '
     'epic_mmaction reads version 1'),
    (dict(clip_id=np.array(['a', 'b'], dtype=object)), 'unreadable results file'),
])
def test_load_errors_name_the_file(tmp_path, change, message):
    path = str(tmp_path / 'bad.npz')
    np.savez(path, **arrays(**change))
    with pytest.raises(ResultsFileError, match=message) as info:
        load_clip_results(path)
    assert str(info.value).startswith(f'{path}: ')
    if 'format' not in change:  # the same checks when the reader is picked by format
        with pytest.raises(ResultsFileError, match=message):
            load_any_results(path)


def test_saving_bad_records_leaves_the_old_file(tmp_path):
    path = str(tmp_path / 'r.npz')
    records = [clip_record_from_sample(s.to_dict()) for s in samples()]
    save_clip_results(path, records)
    before = open(path, 'rb').read()
    odd = [dict(r) for r in records]
    odd[2]['score'] = np.ones(4, np.float32) / 4
    with pytest.raises(ResultsFileError, match=f'{path}: score of v_clip_0 has 3 classes '
                       'but that of v_clip_2 has 4'):
        save_clip_results(path, odd)
    odd = [dict(r) for r in records]
    odd[0]['label'] = 3
    with pytest.raises(ResultsFileError, match=rf'{path}: label must be .* got \[3\]'):
        save_clip_results(path, odd)
    with pytest.raises(ResultsFileError, match=f'{path}: no clips'):
        save_clip_results(path, [])
    with pytest.raises(ValueError, match=r'\.npz'):
        DumpClipResults(out_file=str(tmp_path / 'r.pkl'))
    assert open(path, 'rb').read() == before
    assert os.listdir(tmp_path) == ['r.npz']


def test_test_tool_dumps_clip_results_for_single_label_datasets(tmp_path):
    merge_args = load_tool('test').merge_args

    def evaluators(label_mode):
        dataset = dict(type='EpicSegmentVideoDataset')
        if label_mode is not None:
            dataset['label_mode'] = label_mode
        cfg = Config(dict(test_dataloader=dict(dataset=dataset),
                          test_evaluator=[dict(type='AccMetric')]))
        args = argparse.Namespace(launcher='none', work_dir=str(tmp_path), config='x.py',
                                  checkpoint='x.pth', dump='out.npz', cfg_options=None,
                                  tta=False)
        return [e['type'] for e in merge_args(cfg, args).test_evaluator]

    assert evaluators('single') == ['AccMetric', 'DumpClipResults']
    assert evaluators('verb_noun') == ['AccMetric', 'DumpEpicResults']
    assert evaluators(None) == ['AccMetric', 'DumpEpicResults']  # 'pair', the default
