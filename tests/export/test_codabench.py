"""Codabench submissions: split checks, both files' schema, read-back, no partial writes."""
import json
import os
import zipfile

import numpy as np
import pytest
import torch

from epic_mmaction.results import ResultsFileError, save_results
from epic_mmaction.export import (LOG_FLOOR, SubmissionError, check_against_split,
                                  export_submission, load_any, load_submission,
                                  log_probabilities, read_split_ids, read_submission,
                                  write_leaderboard_zip, write_submission_pt)

from .helpers import random_results, subset

IDS = [f'P{p:02d}_1{v:02d}_{i}' for p in (1, 33) for v in (1, 2) for i in range(3)]
V, N = 5, 7  # small class counts for synthetic cases


def results(ids=IDS, **kwargs):
    return random_results(ids, V, N, **kwargs)


def export(out_dir, res, **kwargs):
    kwargs = {'num_verbs': V, 'num_nouns': N, **kwargs}
    return export_submission(str(out_dir), res, IDS, **kwargs)


def read_test_json(path):
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ['test.json']
        text = zf.read('test.json').decode('utf-8')

    def strict(constant):
        raise AssertionError(f'{constant} is not JSON')
    return json.loads(text, parse_constant=strict)


def test_export_writes_both_files_in_split_order(tmp_path):
    res = results()
    shuffled = subset(res, np.random.default_rng(0).permutation(len(IDS)))
    paths = export(tmp_path / 'out', shuffled, sls_pt=1, sls_tl=2, sls_td=3)
    assert sorted(os.listdir(tmp_path / 'out')) == ['submission.pt', 'test.zip']
    assert paths == {'pt': str(tmp_path / 'out' / 'submission.pt'),
                     'zip': str(tmp_path / 'out' / 'test.zip')}

    data = read_test_json(paths['zip'])
    assert list(data) == ['version', 'challenge', 'sls_pt', 'sls_tl', 'sls_td', 'results']
    assert (data['version'], data['challenge']) == ('0.2', 'action_recognition')
    assert (data['sls_pt'], data['sls_tl'], data['sls_td']) == (1, 2, 3)
    assert list(data['results']) == IDS
    for i, nid in enumerate(IDS):
        entry = data['results'][nid]
        assert list(entry) == ['verb', 'noun']
        assert list(entry['verb']) == [str(c) for c in range(V)]
        assert list(entry['noun']) == [str(c) for c in range(N)]
        # log-probabilities, exactly (JSON holds float64)
        assert list(entry['verb'].values()) == log_probabilities(res.verb_score[i]).tolist()
        assert list(entry['noun'].values()) == log_probabilities(res.noun_score[i]).tolist()

    # the official list format; tensors load with torch.load's weights_only default
    entries = torch.load(paths['pt'], weights_only=True)
    assert [e['narration_id'] for e in entries] == IDS
    assert all(set(e) == {'narration_id', 'verb_output', 'noun_output'} for e in entries)
    # utils/results.py of the C1 tools collates with np.array
    verb_output = np.array([e['verb_output'] for e in entries])
    assert verb_output.shape == (len(IDS), V) and verb_output.dtype == np.float64
    np.testing.assert_array_equal(verb_output, log_probabilities(res.verb_score))

    for path in paths.values():
        sub = read_submission(path)
        assert sub.narration_id.tolist() == IDS
        np.testing.assert_array_equal(sub.verb_output, log_probabilities(res.verb_score))
        np.testing.assert_array_equal(sub.noun_output, log_probabilities(res.noun_score))
        back = load_submission(path)  # probabilities again (renormalised), unlabelled
        for key in ('verb_score', 'noun_score'):
            probs = getattr(res, key).astype(np.float64)
            np.testing.assert_allclose(getattr(back, key),
                                       probs / probs.sum(axis=1, keepdims=True), rtol=1e-12)
        assert back.participant_id.tolist() == res.participant_id.tolist()
        assert (back.verb_label == -1).all() and (back.noun_label == -1).all()


def test_zero_probability_is_written_as_a_finite_floor(tmp_path):
    res = results()
    res.verb_score[0] = [1, 0, 0, 0, 0]
    path = str(tmp_path / 'test.zip')
    write_leaderboard_zip(path, res)
    verbs = read_test_json(path)['results'][IDS[0]]['verb']
    assert verbs == {'0': 0.0, '1': LOG_FLOOR, '2': LOG_FLOOR, '3': LOG_FLOOR,
                     '4': LOG_FLOOR}


def bad_cases():
    res = results()
    nan = results()
    nan.noun_score[4, 2] = np.nan
    negative = results()
    negative.verb_score[7, 0] = -0.1
    return {
        'missing': (subset(res, [i for i in range(12) if i not in (3, 9)]),
                    r"2 of the 12 narration ids of the split are missing, e.g. "
                    r"\['P01_102_0', 'P33_102_0'\]"),
        'duplicate': (subset(res, list(range(12)) + [5]),
                      r"1 narration ids appear more than once, e.g. \['P01_102_2'\]"),
        'extra': (results(IDS + ['P02_01_0']),
                  r"1 narration ids are not in the split, e.g. \['P02_01_0'\]"),
        'nan': (nan, r"noun_score of 1 narrations is not finite \(NaN/inf\), e.g. "
                r"\['P01_102_1'\]"),
        'negative': (negative, r"verb_score of 1 segments is not a probability "
                     r"distribution \(e.g. P33_101_1: min -0.1, sum 0.\d+\); results must "
                     r"hold softmax probabilities"),
        'verb dims': (random_results(IDS, V + 1, N),
                      r'verb_score has 6 classes, expected 5 \(EPIC-KITCHENS-100 has 97 '
                      r'verbs and 300 nouns; give --num-verbs for other data\)'),
        'noun dims': (random_results(IDS, V, N - 1),
                      r'noun_score has 6 classes, expected 7 \(EPIC-KITCHENS-100 has 97 '
                      r'verbs and 300 nouns; give --num-nouns for other data\)'),
    }


@pytest.mark.parametrize('case', list(bad_cases()))
def test_bad_results_name_the_ids_and_write_nothing(tmp_path, case):
    res, message = bad_cases()[case]
    with pytest.raises(SubmissionError, match=f'^run.npz: {message}'):
        check_against_split(res, IDS, V, N, where='run.npz')
    with pytest.raises(SubmissionError, match=message):
        export(tmp_path / 'out', res, where='run.npz')
    assert not (tmp_path / 'out').exists()


def test_missing_ids_are_counted_and_the_first_five_named():
    res = subset(results(), slice(0, 4))
    with pytest.raises(SubmissionError, match=r"8 of the 12 narration ids of the split are "
                       r"missing, e.g. \['P01_102_1', 'P01_102_2', 'P33_101_0', "
                       r"'P33_101_1', 'P33_101_2'\]$"):
        check_against_split(res, IDS, V, N)


def test_existing_outputs_need_force(tmp_path):
    out = tmp_path / 'out'
    export(out, results(seed=1))
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    for name in before:  # either output alone blocks both
        kept = out / name
        other = [n for n in before if n != name][0]
        (out / other).rename(tmp_path / other)
        with pytest.raises(SubmissionError, match=f'{kept} already exists, use --force'):
            export(out, results(seed=2))
        assert os.listdir(out) == [name] and kept.read_bytes() == before[name]
        (tmp_path / other).rename(out / other)
    export(out, results(seed=2), force=True)
    assert read_submission(str(out / 'test.zip')).verb_output.tolist() == \
        log_probabilities(results(seed=2).verb_score).tolist()
    assert sorted(os.listdir(out)) == ['submission.pt', 'test.zip']  # no temp files
    with pytest.raises(SubmissionError, match='already exists'):
        write_submission_pt(str(out / 'submission.pt'), results())
    with pytest.raises(SubmissionError, match='already exists'):
        write_leaderboard_zip(str(out / 'test.zip'), results())


@pytest.mark.parametrize('sls', [dict(sls_pt=6), dict(sls_tl=-1), dict(sls_td=True),
                                 dict(sls_pt=2.0)])
def test_supervision_levels_must_be_0_to_5(tmp_path, sls):
    name = list(sls)[0]
    with pytest.raises(SubmissionError, match=f'{name} must be an integer in 0..5'):
        export(tmp_path / 'out', results(), **sls)
    with pytest.raises(SubmissionError, match=f'{name} must be an integer in 0..5'):
        write_leaderboard_zip(str(tmp_path / 'out' / 'test.zip'), results(), **sls)
    assert not (tmp_path / 'out').exists()


def test_zip_name(tmp_path):
    paths = export(tmp_path, results(), zip_name='x3d_s.zip')
    assert paths['zip'] == str(tmp_path / 'x3d_s.zip')
    for bad in ('x3d_s.json', 'sub/x3d_s.zip'):
        with pytest.raises(SubmissionError, match='ending in .zip'):
            export(tmp_path / 'other', results(), zip_name=bad)


def test_read_official_dict_format_and_refuse_others(tmp_path):
    res = results()
    official = str(tmp_path / 'dict_format.pt')
    torch.save({'narration_id': IDS, 'verb_output': torch.randn(12, V),
                'noun_output': torch.randn(12, N)}, official)
    assert read_submission(official).verb_output.shape == (12, V)
    assert len(load_any(official)) == 12

    pickled = str(tmp_path / 'numpy.pt')  # numpy arrays: not loadable weights_only
    torch.save([{'narration_id': IDS[0], 'verb_output': np.zeros(V),
                 'noun_output': np.zeros(N)}], pickled)
    with pytest.raises(SubmissionError, match=f'{pickled}: not a submission '
                       r'torch.load\(weights_only=True\) can read'):
        read_submission(pickled)
    keys = str(tmp_path / 'keys.pt')
    torch.save([{'narration_id': 'a', 'verb_output': torch.zeros(V)}], keys)
    with pytest.raises(SubmissionError, match='entry 0 is not a dict with keys'):
        read_submission(keys)

    empty = tmp_path / 'empty.zip'
    with zipfile.ZipFile(empty, 'w') as zf:
        zf.writestr('results.json', '{}')
    with pytest.raises(SubmissionError, match=r'no test.json in the zip'):
        read_submission(str(empty))
    path = str(tmp_path / 'test.zip')
    write_leaderboard_zip(path, res)
    data = read_test_json(path)
    data['version'] = '0.1'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('test.json', json.dumps(data))
    with pytest.raises(SubmissionError, match="test.json version is '0.1', expected '0.2'"):
        read_submission(path)
    (tmp_path / 'bad.zip').write_text('not a zip')
    with pytest.raises(SubmissionError, match='not a leaderboard zip'):
        read_submission(str(tmp_path / 'bad.zip'))
    with pytest.raises(SubmissionError, match='cannot read .*missing.pt'):
        load_any(str(tmp_path / 'missing.pt'))
    with pytest.raises(ResultsFileError, match='expected a results .npz'):
        load_any(str(tmp_path / 'results.pkl'))


def test_load_any_reads_npz(tmp_path):
    path = str(tmp_path / 'r.npz')
    save_results(path, results())
    np.testing.assert_array_equal(load_any(path).verb_score, results().verb_score)


def test_read_split_ids_of_the_official_test_split(official_epic_dir):
    ids = read_split_ids(os.path.join(official_epic_dir, 'EPIC_100_test_timestamps.csv'))
    assert len(ids) == 13092 and ids[0] == 'P01_101_0' and len(set(ids)) == 13092
