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
import zipfile

import numpy as np
import pytest

from epic_mmaction.evaluation import (action_ids, action_ranks, compute_epic_metrics,
                                      read_tail_nouns, read_tail_verbs,
                                      read_unseen_participants, summary_table, topk_accuracy)
from epic_mmaction.results import EpicResults, load_results, save_results
from epic_mmaction.export import (evaluate_results, load_any, log_probabilities,
                                  read_ground_truth, read_split_ids, read_submission,
                                  results_from_submission)

from .. import toolrun
from ..conftest import REPO
from ..export.helpers import random_results, write_gt

EXPORT = osp.join('tools', 'export_codabench.py')
EVALUATE = osp.join('tools', 'evaluate.py')


def run(*args):
    return toolrun.run_tool(*args, timeout=300)


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


def sparse_probabilities(rng, n, num, nonzero):
    """Rows with ``nonzero`` classes > 0 and exact zeros elsewhere (confident heads)."""
    probs = np.zeros((n, num), np.float32)
    for row in probs:
        row[rng.choice(num, nonzero, replace=False)] = rng.dirichlet(np.ones(nonzero))
    return probs


def test_exact_zeros_score_the_same_from_the_npz_and_the_submission(tmp_path, capsys):
    # two classes > 0 per row: the 3rd to 5th actions pair a zero with a non-zero,
    # which the leaderboard ranks by the non-zero factor (log 0 -> a finite floor)
    rng = np.random.default_rng(5)
    n = 2000
    ids = [f'P{1 + i // 500:02d}_01_{i}' for i in range(n)]
    verb, noun = sparse_probabilities(rng, n, 97, 2), sparse_probabilities(rng, n, 300, 2)
    verb_label, noun_label = verb.argmax(1), noun.argmax(1)
    for labels, num in ((verb_label, 97), (noun_label, 300)):  # half elsewhere: zeros
        other = rng.random(n) < 0.5
        labels[other] = rng.integers(0, num, other.sum())
    gt_csv = write_gt(tmp_path / 'gt.csv', ids, verb_label, noun_label)
    results = random_results(ids)
    results = EpicResults(**{**{k: getattr(results, k) for k in (
        'narration_id', 'participant_id', 'verb_label', 'noun_label')},
        'verb_score': verb, 'noun_score': noun})
    npz = str(tmp_path / 'val_results.npz')
    save_results(npz, results)
    assert load_tool('export_codabench').main(
        [npz, '--split-csv', gt_csv, '--out-dir', str(tmp_path / 'sub')]) == 0

    evaluate = load_tool('evaluate').main
    metrics = {}
    for path in (npz, tmp_path / 'sub' / 'test.zip', tmp_path / 'sub' / 'submission.pt'):
        out_json = tmp_path / f'{osp.basename(path)}.json'
        assert evaluate([str(path), '--gt', gt_csv, '--json', str(out_json)]) == 0
        metrics[osp.basename(path)] = json.loads(out_json.read_text())['metrics']
    capsys.readouterr()
    assert metrics['test.zip'] == metrics['val_results.npz']  # exactly
    assert metrics['submission.pt'] == metrics['val_results.npz']

    # the file tells the floor from log(0) = -inf: pairs with a zero all tie at 0
    with np.errstate(divide='ignore'):
        ranks = action_ranks(np.log(verb.astype(np.float64)), np.log(noun.astype(np.float64)))
    top5_with_inf = 100 * topk_accuracy(ranks, action_ids(verb_label, noun_label), 5)[0]
    assert top5_with_inf != metrics['val_results.npz']['action_top5']


def consumer_commands(tmp_path, npz, classes):
    """Every tool that reads results files, on ``npz`` (EPIC verb/noun results)."""
    ids = load_results(npz).narration_id.tolist()
    gt_csv = write_gt(tmp_path / 'gt.csv', ids, [0] * len(ids), [0] * len(ids))
    out = str(tmp_path / 'out')
    return {
        'evaluate': [npz, '--gt', gt_csv],
        'export_codabench': [npz, '--split-csv', gt_csv, '--out-dir', out],
        'analyze_results': [npz, '--verb-classes', classes['verb'], '--noun-classes',
                            classes['noun'], '--out-dir', out],
    }


def write_classes(tmp_path, num_verbs, num_nouns):
    paths = {}
    for task, num in (('verb', num_verbs), ('noun', num_nouns)):
        path = tmp_path / f'{task}_classes.csv'
        path.write_text('id,key,instances,category\n' + ''.join(
            f'{i},{task}{i},"[\'{task}{i}\']",c\n' for i in range(num)))
        paths[task] = str(path)
    return paths


@pytest.mark.parametrize('tool', ['evaluate', 'export_codabench', 'analyze_results'])
def test_logits_are_refused_naming_the_file(tool, tmp_path, capsys):
    ids = [f'P01_01_{i}' for i in range(20)]
    res = random_results(ids, seed=4)
    logits = EpicResults(**{**{k: getattr(res, k) for k in (
        'narration_id', 'participant_id', 'verb_label', 'noun_label')},
        'verb_score': np.log(res.verb_score) + 3.0, 'noun_score': res.noun_score})
    npz = str(tmp_path / 'logits.npz')
    save_results(npz, logits)
    args = consumer_commands(tmp_path, npz, write_classes(tmp_path, 97, 300))[tool]
    assert load_tool(tool).main(args) == 2
    out, err = capsys.readouterr()
    row = logits.verb_score[0].astype(np.float64)
    assert out == '' and err == (
        f'{tool}.py: error: {npz}: verb_score of 20 segments is not a probability '
        f'distribution (e.g. P01_01_0: min {row.min():.4g}, sum {row.sum():.4g}); results '
        "must hold softmax probabilities, as tools/test.py --dump writes them with the "
        "head's average_clips='prob' (not logits, average_clips='score')\n")
    assert not (tmp_path / 'out').exists()


@pytest.mark.parametrize('tool', ['evaluate', 'export_codabench', 'analyze_results'])
def test_other_class_counts_are_refused_naming_the_file(tool, tmp_path, capsys):
    npz = str(tmp_path / 'v96.npz')
    save_results(npz, random_results([f'P01_01_{i}' for i in range(20)], 96, 300))
    args = consumer_commands(tmp_path, npz, write_classes(tmp_path, 97, 300))[tool]
    assert load_tool(tool).main(args) == 2
    out, err = capsys.readouterr()
    if tool == 'analyze_results':  # it takes the class count from the class CSV
        expected = (f"{tmp_path / 'verb_classes.csv'} has 97 verb classes but {npz} has "
                    '96 verb scores per segment')
    else:
        expected = (f'{npz}: verb_score has 96 classes, expected 97 (EPIC-KITCHENS-100 '
                    'has 97 verbs and 300 nouns; give --num-verbs for other data)')
    assert out == '' and err == f'{tool}.py: error: {expected}\n'
    assert not (tmp_path / 'out').exists()
    # other data (e.g. the synthetic demo's) says its class counts
    if tool != 'analyze_results':
        assert load_tool(tool).main(args + ['--num-verbs', '96']) == 0
