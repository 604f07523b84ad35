"""Results files: DumpEpicResults round trip, save/load, clear errors."""
import os
from dataclasses import replace

import numpy as np
import pytest
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from epic_mmaction.results import (RESULTS_VERSION, ClipResults, EpicResults,
                                   ResultsFileError, load_results, save_results)
from epic_mmaction.evaluation.metrics import DumpEpicResults
from epic_mmaction.evaluation import compute_epic_metrics
from epic_mmaction.results.epic_results import record_from_sample

from ..evaluation.test_epic_metric import small_samples, unlabelled_samples

init_default_scope('mmaction')


def records(n=4, num_verbs=3, num_nouns=5, seed=0):
    rng = np.random.default_rng(seed)
    return [dict(narration_id=f'P01_01_{i}', participant_id='P01',
                 verb_score=rng.dirichlet(np.ones(num_verbs)).astype(np.float32),
                 noun_score=rng.dirichlet(np.ones(num_nouns)).astype(np.float32),
                 verb_label=i % num_verbs, noun_label=-1 if i == n - 1 else i % num_nouns)
            for i in range(n)]


def arrays(**change):
    """The arrays of a valid file, with some replaced."""
    out = dict(format=np.array('epic_mmaction.results'),
               version=np.array(RESULTS_VERSION, dtype=np.int64),
               narration_id=np.array(['a', 'b']), participant_id=np.array(['P01', 'P02']),
               verb_score=np.full((2, 3), 1 / 3, np.float32),
               noun_score=np.full((2, 4), 0.25, np.float32),
               verb_label=np.array([0, 2]), noun_label=np.array([3, -1]))
    out.update(change)
    return {k: v for k, v in out.items() if v is not None}


def test_dump_round_trip_and_offline_evaluation(tmp_path):
    out_file = str(tmp_path / 'dump' / 'val_results.npz')
    samples = small_samples() + unlabelled_samples(2)
    evaluator = Evaluator([dict(type='EpicActionMetric'),
                           dict(type='DumpEpicResults', out_file=out_file)])
    evaluator.process(data_samples=samples[:5], data_batch=None)
    evaluator.process(data_samples=samples[5:], data_batch=None)
    metrics = evaluator.evaluate(size=len(samples))
    assert all(k.startswith('epic/') for k in metrics)  # the dump adds none

    results = load_results(out_file)
    assert len(results) == 8 and results.version == RESULTS_VERSION
    assert (results.num_verbs, results.num_nouns) == (3, 4)
    assert results.narration_id.tolist() == [s.narration_id for s in samples]
    assert results.participant_id.tolist() == [s.participant_id for s in samples]
    assert results.verb_score.dtype == np.float32 and results.verb_label.dtype == np.int64
    np.testing.assert_array_equal(results.verb_score,
                                  np.stack([s.verb_score.numpy() for s in samples]))
    np.testing.assert_array_equal(results.noun_score,
                                  np.stack([s.noun_score.numpy() for s in samples]))
    assert results.verb_label.tolist() == [s.verb_label for s in samples]
    assert results.labelled.tolist() == [True] * 6 + [False] * 2

    # offline evaluation of the file gives the online numbers
    keep = results.labelled
    offline = compute_epic_metrics(results.verb_score[keep], results.noun_score[keep],
                                   results.verb_label[keep], results.noun_label[keep])
    assert {f'epic/{k}': v for k, v in offline.items()} == metrics

    # plain numpy reads it without pickle
    with np.load(out_file, allow_pickle=False) as npz:
        assert str(npz['format']) == 'epic_mmaction.results'
        assert npz['narration_id'].dtype.kind == 'U'
    assert not [f for f in os.listdir(tmp_path / 'dump') if f.endswith('.tmp')]


def test_save_and_load(tmp_path):
    path = str(tmp_path / 'r.npz')
    written = save_results(path, records())
    loaded = load_results(path)
    for key in ('narration_id', 'participant_id', 'verb_score', 'noun_score',
                'verb_label', 'noun_label'):
        np.testing.assert_array_equal(getattr(loaded, key), getattr(written, key))
    assert loaded.noun_label.tolist() == [0, 1, 2, -1]
    # an EpicResults (e.g. an ensemble) saves too, float64 scores stored as float32
    ensemble = EpicResults(**{**loaded.__dict__,
                              'verb_score': loaded.verb_score.astype(np.float64) / 2})
    save_results(path, ensemble)
    assert load_results(path).verb_score.dtype == np.float32


def test_record_from_sample_reads_tensors_and_metainfo():
    sample = small_samples()[1].to_dict()
    record = record_from_sample(sample)
    assert record['narration_id'] == 'P18_01_1' and record['participant_id'] == 'P18'
    assert record['verb_label'] == 2 and type(record['verb_label']) is int
    assert record['verb_score'].dtype == np.float32 and record['noun_score'].shape == (4, )


def test_dump_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r'\.npz'):
        DumpEpicResults(out_file=str(tmp_path / 'results.pkl'))
    with pytest.raises(ValueError, match=r'\.npz'):
        save_results(str(tmp_path / 'results.pkl'), records())


@pytest.mark.parametrize('change, message', [
    (dict(verb_score=np.full((3, 3), 0.3, np.float32)), 'disagree on the number'),
    (dict(noun_score=np.full(2, 0.3, np.float32)), 'noun_score must be a 2-D float'),
    (dict(narration_id=np.array(['a', 'a'])), r"1 duplicate narration ids, e.g. \['a'\]"),
    (dict(noun_score=np.array([[0.25] * 4, [np.nan] * 4], np.float32)),
     r"noun_score of 1 segments is not finite \(NaN/inf\), e.g. \['b'\]"),
    (dict(verb_label=np.array([0, 3])), r'verb_label must be -1 \(unlabelled\) or in '
     r"\[0, 3\), got \[3\] for e.g. \['b'\]"),
    (dict(verb_label=np.array([0.0, 1.0])), 'verb_label must be a 1-D integer'),
    (dict(participant_id=None), r"missing arrays \['participant_id'\]"),
    (dict(version=np.array(RESULTS_VERSION + 1)), 'format version 2, this epic_mmaction '
     'reads version 1'),
    (dict(format=None), "not an epic_mmaction results file \\(format None\\)"),
    (dict(narration_id=np.array(['a', 'b'], dtype=object)), 'unreadable results file'),
    (dict(verb_score=np.zeros((2, 3, 1), np.float32)), 'verb_score must be a 2-D'),
])
def test_load_errors_name_the_file(tmp_path, change, message):
    path = str(tmp_path / 'bad.npz')
    np.savez(path, **arrays(**change))
    with pytest.raises(ResultsFileError, match=message) as info:
        load_results(path)
    assert str(info.value).startswith(f'{path}: ')


def test_load_errors_for_other_files(tmp_path):
    text = tmp_path / 'results.npz'
    text.write_text('not a zip')
    with pytest.raises(ResultsFileError, match=f'{text}: not an epic_mmaction results'):
        load_results(str(text))
    single = str(tmp_path / 'single.npy')
    np.save(single, np.zeros(3))
    with pytest.raises(ResultsFileError, match='a single array'):
        load_results(single)
    with pytest.raises(ResultsFileError, match='cannot read results file .*missing.npz'):
        load_results(str(tmp_path / 'missing.npz'))
    assert isinstance(ResultsFileError('x'), ValueError)


def test_saving_bad_records_leaves_the_old_file(tmp_path):
    path = str(tmp_path / 'r.npz')
    save_results(path, records())
    before = open(path, 'rb').read()
    dup = records()
    dup[1]['narration_id'] = dup[0]['narration_id']
    with pytest.raises(ResultsFileError, match=f'{path}: 1 duplicate narration ids'):
        save_results(path, dup)
    odd = records()
    odd[2]['verb_score'] = np.ones(4, np.float32) / 4
    with pytest.raises(ResultsFileError, match=f'{path}: verb_score of P01_01_0 has 3 '
                       'classes but that of P01_01_2 has 4'):
        save_results(path, odd)
    with pytest.raises(ResultsFileError, match='no segments'):
        save_results(path, [])
    assert open(path, 'rb').read() == before
    assert os.listdir(tmp_path) == ['r.npz']


def test_check_scores_wants_probabilities_and_the_class_counts_asked_for():
    rng = np.random.default_rng(0)
    n = 50
    probs = EpicResults(
        narration_id=np.array([f'P01_01_{i}' for i in range(n)]),
        participant_id=np.array(['P01'] * n),
        verb_score=rng.dirichlet(np.ones(97), n).astype(np.float32),  # float32 rounding
        noun_score=rng.dirichlet(np.ones(300), n).astype(np.float32),
        verb_label=np.full(n, -1), noun_label=np.full(n, -1))
    probs.check_scores('r.npz', 97, 300)
    probs.check_scores('r.npz')  # class counts not asked for
    with pytest.raises(ResultsFileError, match=r'^r\.npz: noun_score has 300 classes, '
                       r'expected 301 \(.*give --num-nouns for other data\)$'):
        probs.check_scores('r.npz', 97, 301)
    for change in (lambda s: s * 1.01, lambda s: s - 0.001, np.log):
        bad = replace(probs, verb_score=change(probs.verb_score))
        with pytest.raises(ResultsFileError, match=r"^r\.npz: verb_score of 50 segments "
                           r"is not a probability distribution .*average_clips='prob'"):
            bad.check_scores('r.npz')

    clips = ClipResults(clip_id=np.array(['a', 'b']), video=np.array(['a.mp4', 'b.mp4']),
                        score=np.array([[0.5, 0.5], [2.0, -1.0]], np.float32),
                        label=np.array([0, 1]))
    with pytest.raises(ResultsFileError, match=r'^c\.npz: score of 1 clips is not a '
                       r'probability distribution \(e\.g\. b: min -1, sum 1\)'):
        clips.check_scores('c.npz')
