"""tools/export_codabench.py and tools/evaluate.py on the official CSVs.

Random scores over the real 13,092 test narrations are exported once by a
subprocess (module fixture), and the validation split is evaluated by one.
Error paths call the tools' ``main`` in this process: every subprocess spends
~5 s importing MMAction2.
"""
import csv
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from epic_mmaction.evaluation import (compute_epic_metrics, read_tail_nouns,
                                      read_tail_verbs, read_unseen_participants)

from epic_mmaction.results import load_results, save_results

from epic_mmaction.evaluation import summary_table
from epic_mmaction.export import (evaluate_results, load_any, log_probabilities,
                                  read_ground_truth, read_split_ids, read_submission,
                                  results_from_submission)

from ..conftest import REPO
from ..export.helpers import random_results

EXPORT = osp.join('tools', 'export_codabench.py')
EVALUATE = osp.join('tools', 'evaluate.py')


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def official(directory, name):
    return osp.join(directory, name)


@pytest.fixture(scope='module')
def test_export(official_epic_dir, tmp_path_factory):
    """Random results over the official test split, exported by the tool."""
    tmp = tmp_path_factory.mktemp('export')
    split_csv = official(official_epic_dir, 'EPIC_100_test_timestamps.csv')
    ids = read_split_ids(split_csv)
    npz = str(tmp / 'test_results.npz')
    rng = np.random.default_rng(0)
    save_results(npz, random_results(ids[rng.permutation(len(ids))], seed=1))
    out = tmp / 'submission'
    proc = run(EXPORT, npz, '--split-csv', split_csv, '--out-dir', out, '--sls-pt', 1,
               '--sls-tl', 3, '--sls-td', 3)
    assert proc.returncode == 0, proc.stderr
    return dict(npz=npz, split_csv=split_csv, ids=ids, out=out, stdout=proc.stdout,
                zip=str(out / 'test.zip'), pt=str(out / 'submission.pt'))


@pytest.fixture(scope='module')
def read_back(test_export):
    """Both outputs of ``test_export`` read by :func:`read_submission` (slow: once)."""
    return {kind: read_submission(test_export[kind]) for kind in ('zip', 'pt')}


def test_export_of_the_real_test_split(test_export, read_back):
    assert sorted(os.listdir(test_export['out'])) == ['submission.pt', 'test.zip']
    assert f"13092 narrations of {test_export['split_csv']}, 97 verbs, 300 nouns" in \
        test_export['stdout']
    assert f"1.0000  {test_export['npz']}" in test_export['stdout']
    results = load_results(test_export['npz'])
    order = {nid: i for i, nid in enumerate(results.narration_id.tolist())}
    rows = np.array([order[nid] for nid in test_export['ids'].tolist()])
    verb, noun = (log_probabilities(results.verb_score[rows]),
                  log_probabilities(results.noun_score[rows]))

    with zipfile.ZipFile(test_export['zip']) as zf:
        assert zf.namelist() == ['test.json']
        data = json.loads(zf.read('test.json'))
    assert {k: v for k, v in data.items() if k != 'results'} == {
        'version': '0.2', 'challenge': 'action_recognition', 'sls_pt': 1, 'sls_tl': 3,
        'sls_td': 3}
    assert list(data['results']) == test_export['ids'].tolist()  # split order
    verb_keys, noun_keys = [str(i) for i in range(97)], [str(i) for i in range(300)]
    for entry in data['results'].values():
        assert list(entry) == ['verb', 'noun']
        assert list(entry['verb']) == verb_keys and list(entry['noun']) == noun_keys
    assert [list(e['verb'].values()) for e in data['results'].values()] == verb.tolist()
    assert [list(e['noun'].values()) for e in data['results'].values()] == noun.tolist()

    for sub in read_back.values():
        assert sub.narration_id.tolist() == test_export['ids'].tolist()
        np.testing.assert_array_equal(sub.verb_output, verb)
        np.testing.assert_array_equal(sub.noun_output, noun)


def test_existing_outputs_are_refused_without_force(test_export, capsys):
    before = {n: os.stat(test_export['out'] / n).st_mtime_ns
              for n in os.listdir(test_export['out'])}
    assert load_tool('export_codabench').main(
        [test_export['npz'], '--split-csv', test_export['split_csv'], '--out-dir',
         str(test_export['out'])]) == 2
    out, err = capsys.readouterr()
    assert out == '' and err == (f"export_codabench.py: error: {test_export['pt']} already "
                                 'exists, use --force (force=True) to overwrite it\n')
    assert {n: os.stat(test_export['out'] / n).st_mtime_ns
            for n in os.listdir(test_export['out'])} == before


def test_submission_scores_as_the_results_it_came_from(test_export, read_back, tmp_path):
    # made-up labels (the test labels are secret) for every 6th test narration
    rng = np.random.default_rng(3)
    gt_csv = tmp_path / 'gt.csv'
    with open(test_export['split_csv'], newline='') as f, open(gt_csv, 'w', newline='') as g:
        reader, writer = csv.reader(f), csv.writer(g)
        writer.writerow(next(reader) + ['verb_class', 'noun_class'])
        for row in list(reader)[::6]:
            writer.writerow(row + [rng.integers(0, 97), rng.integers(0, 300)])
    gt = read_ground_truth(str(gt_csv))
    unseen = ['P33', 'P34']
    expected = evaluate_results(load_any(test_export['npz']), gt,
                                unseen_participants=unseen)
    assert expected.num_segments == 2182 and expected.num_ignored == 13092 - 2182
    assert expected.subset_sizes['unseen'] > 0
    for kind, sub in read_back.items():
        got = evaluate_results(results_from_submission(sub), gt, unseen_participants=unseen)
        assert got.metrics == expected.metrics, kind


def test_evaluate_on_the_validation_split(official_epic_dir, tmp_path):
    gt_csv = official(official_epic_dir, 'EPIC_100_validation.csv')
    tails = [official(official_epic_dir, f'EPIC_100_tail_{t}s.csv') for t in ('verb', 'noun')]
    unseen = official(official_epic_dir, 'EPIC_100_unseen_participant_ids_validation.csv')
    gt = read_ground_truth(gt_csv)
    results = random_results(gt.narration_id[::-1], seed=7)  # in another order
    npz = str(tmp_path / 'val_results.npz')
    save_results(npz, results)
    out_json = str(tmp_path / 'metrics' / 'val.json')
    proc = run(EVALUATE, npz, '--gt', gt_csv, '--tail-verbs', tails[0], '--tail-nouns',
               tails[1], '--unseen', unseen, '--json', out_json)
    assert proc.returncode == 0, proc.stderr

    stored = load_results(npz)  # float32, as the training metric sees them
    rows = np.arange(len(gt))[::-1]
    expected = compute_epic_metrics(
        stored.verb_score[rows], stored.noun_score[rows], gt.verb_class, gt.noun_class,
        gt.participant_id, read_tail_verbs(tails[0]), read_tail_nouns(tails[1]),
        read_unseen_participants(unseen))
    with open(out_json) as f:
        report = json.load(f)
    assert report['metrics'] == expected  # exactly
    assert report['num_segments'] == 9668 and report['results'] == [npz]
    assert summary_table(expected) in proc.stdout
    assert proc.stdout.startswith(f'9668 narrations of {gt_csv} (unseen ')
    assert os.listdir(tmp_path / 'metrics') == ['val.json']  # no temp files


def test_evaluate_refuses_results_missing_narrations(official_epic_dir, tmp_path, capsys):
    gt_csv = official(official_epic_dir, 'EPIC_100_validation.csv')
    ids = read_ground_truth(gt_csv).narration_id
    npz = str(tmp_path / 'part.npz')
    save_results(npz, random_results(ids[:9000], 97, 300))
    out_json = tmp_path / 'm.json'
    assert load_tool('evaluate').main([npz, '--gt', gt_csv, '--json', str(out_json)]) == 2
    out, err = capsys.readouterr()
    assert out == '' and err == (f'evaluate.py: error: {npz}: 668 of the 9668 narrations '
                                 f'of {gt_csv} are missing, e.g. {ids[9000:9005].tolist()}\n')
    assert not out_json.exists()


def test_export_ensemble_and_bad_input(tmp_path, capsys):
    # in this process, on a small made-up split: weights, --ensemble, exit code 2
    export = load_tool('export_codabench').main
    ids = [f'P01_01_{i}' for i in range(6)]
    split_csv = tmp_path / 'split.csv'
    split_csv.write_text('narration_id,participant_id,video_id,start_timestamp,'
                         'stop_timestamp,start_frame,stop_frame\n' + ''.join(
                             f'{nid},P01,P01_01,00:00:0{i}.00,00:00:0{i}.50,1,2\n'
                             for i, nid in enumerate(ids)))
    a, b = random_results(ids, 3, 4, seed=1), random_results(ids[::-1], 3, 4, seed=2)
    save_results(str(tmp_path / 'a.npz'), a)
    save_results(str(tmp_path / 'b.npz'), b)
    args = [str(tmp_path / 'a.npz'), str(tmp_path / 'b.npz'), '--split-csv', str(split_csv),
            '--num-verbs', '3', '--num-nouns', '4', '--weights', '3', '1', '--out-dir']
    assert export(args + [str(tmp_path / 'out'), '--ensemble', 'logit']) == 0
    out = capsys.readouterr().out
    assert '0.7500  ' in out and '0.2500  ' in out and 'ensemble: logit' in out
    verbs = (0.75 * np.log(a.verb_score.astype(np.float64))
             + 0.25 * np.log(b.verb_score[::-1].astype(np.float64)))
    got = read_submission(str(tmp_path / 'out' / 'test.zip')).verb_output
    # log of the renormalised geometric mean
    np.testing.assert_allclose(np.exp(got), np.exp(verbs) / np.exp(verbs).sum(
        axis=1, keepdims=True), rtol=1e-12)

    save_results(str(tmp_path / 'b.npz'), random_results(ids[1:], 3, 4))
    assert export(args + [str(tmp_path / 'bad')]) == 2
    out, err = capsys.readouterr()
    assert out == '' and err == (f"export_codabench.py: error: {tmp_path / 'b.npz'}: lacks 1 "
                                 "narration ids, e.g. ['P01_01_0']\n")
    assert not (tmp_path / 'bad').exists()
