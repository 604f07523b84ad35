"""The EPIC-KITCHENS-100 scorer: hand-computed cases, an independent brute force,
the official CSVs."""
import csv
import os.path as osp

import numpy as np
import pytest

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from epic_mmaction.evaluation import functional as F
from epic_mmaction.evaluation.functional import (EpicCsvError, action_ids, action_ranks,
                                                 compute_action_scores,
                                                 compute_epic_metrics, epic_subsets,
                                                 read_tail_nouns, read_tail_verbs,
                                                 read_unseen_participants,
                                                 scores_to_ranks, topk_accuracy)

# 6 segments, 3 verbs, 4 nouns; no ties among scores or products.
VERB_PROBS = np.array([
    [0.70, 0.20, 0.10],  # s0 label v0: top-1
    [0.20, 0.50, 0.30],  # s1 label v2: rank 2
    [0.10, 0.30, 0.60],  # s2 label v2: top-1
    [0.50, 0.40, 0.10],  # s3 label v1: rank 2
    [0.55, 0.30, 0.15],  # s4 label v0: top-1
    [0.55, 0.30, 0.15],  # s5 label v2: rank 3
])
NOUN_PROBS = np.array([
    [0.05, 0.60, 0.20, 0.15],  # s0 label n1: top-1
    [0.40, 0.30, 0.20, 0.10],  # s1 label n0: top-1
    [0.25, 0.14, 0.21, 0.40],  # s2 label n0: rank 2
    [0.05, 0.15, 0.70, 0.10],  # s3 label n2: top-1
    [0.45, 0.32, 0.15, 0.08],  # s4 label n2: rank 3
    [0.45, 0.32, 0.15, 0.08],  # s5 label n0: top-1
])
VERB_LABELS = np.array([0, 2, 2, 1, 0, 2])
NOUN_LABELS = np.array([1, 0, 0, 2, 2, 0])
PARTICIPANTS = ['P01', 'P18', 'P01', 'P32', 'P18', 'P02']
UNSEEN = ['P18', 'P32']  # s1, s3, s4
TAIL_VERBS = [0]  # s0, s4
TAIL_NOUNS = [2]  # s3, s4; tail actions (verb OR noun): s0, s3, s4
# Rank of the true action by p(verb) * p(noun):
#   s0 (v0,n1) .42 is first; s1 (v2,n0) .12 third after (v1,n0) .20, (v1,n1) .15;
#   s2 (v2,n0) .15 second after (v2,n3) .24; s3 (v1,n2) .28 second after (v0,n2) .35;
#   s4/s5 share scores, ranked .2475 v0n0, .176 v0n1, .135 v1n0, .096 v1n1,
#   .0825 v0n2 (s4's, 5th), .0675 v2n0 (s5's, 6th: out of the top 5 although its
#   verb is among the top 3 and its noun is first).
EXPECTED = {
    'verb_top1': 3 / 6 * 100, 'verb_top5': 100.0,
    'noun_top1': 4 / 6 * 100, 'noun_top5': 100.0,
    'action_top1': 1 / 6 * 100, 'action_top5': 5 / 6 * 100,
    # per class: v0 2/2, v1 0/1, v2 1/3; n0 2/3, n1 1/1, n2 1/2
    'verb_mean_class_acc': (1 + 0 + 1 / 3) / 3 * 100,
    'noun_mean_class_acc': (2 / 3 + 1 + 1 / 2) / 3 * 100,
    'unseen_verb_top1': 1 / 3 * 100,  # s1 no, s3 no, s4 yes
    'unseen_noun_top1': 2 / 3 * 100,  # s1 yes, s3 yes, s4 no
    'unseen_action_top1': 0.0,
    'tail_verb_top1': 100.0,  # s0, s4
    'tail_noun_top1': 50.0,  # s3 yes, s4 no
    'tail_action_top1': 1 / 3 * 100,  # s0 yes, s3 no, s4 no
}


def small_metrics(**kwargs):
    args = dict(participant_ids=PARTICIPANTS, tail_verbs=TAIL_VERBS,
                tail_nouns=TAIL_NOUNS, unseen_participants=UNSEEN)
    args.update(kwargs)
    return compute_epic_metrics(VERB_PROBS, NOUN_PROBS, VERB_LABELS, NOUN_LABELS, **args)


def test_hand_computed_table():
    metrics = small_metrics()
    assert metrics.keys() == EXPECTED.keys()
    for key, value in EXPECTED.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), key
    assert all(isinstance(v, float) for v in metrics.values())


def test_other_k():
    metrics = small_metrics(topk=(1, 2, 3))
    assert metrics['verb_top2'] == pytest.approx(5 / 6 * 100)  # all but s5
    assert metrics['action_top2'] == pytest.approx(3 / 6 * 100)  # s0, s2, s3
    assert metrics['action_top3'] == pytest.approx(4 / 6 * 100)  # + s1
    assert 'verb_top5' not in metrics and 'unseen_action_top1' in metrics


def test_action_ranking_follows_products():
    ranks = action_ranks(np.log(VERB_PROBS), np.log(NOUN_PROBS))
    assert ranks.shape == (6, 12)  # all 3 x 4 pairs (fewer than 100)
    assert ranks[4, :6].tolist() == [action_ids(v, n) for v, n in
                                     [(0, 0), (0, 1), (1, 0), (1, 1), (0, 2), (2, 0)]]
    # the top-1 action is always (top verb, top noun): a product of independent
    # probabilities is largest at both maxima
    assert (ranks[:, 0] == action_ids(VERB_PROBS.argmax(1), NOUN_PROBS.argmax(1))).all()


def test_action_id_is_official_verb_times_1000_plus_noun():
    assert action_ids(0, 351) == 351 and action_ids(1, 1) == 1001
    assert action_ids(np.array([0, 1, 2]), np.array([0, 1, 2])).tolist() == [0, 1001, 2002]
    with pytest.raises(ValueError, match='at most 1000 nouns'):
        action_ranks(np.zeros((1, 3)), np.zeros((1, 1001)))


def test_probabilities_go_in_as_logs():
    # the official routine softmaxes its inputs: fed probabilities it would rank
    # actions by p(verb) + p(noun); fed log-probabilities, by p(verb) * p(noun)
    verb, noun = np.array([[0.6, 0.3, 0.1]]), np.array([[0.5, 0.45, 0.05]])
    # products .30 .27 .15 .135 .05(v2n0) .045 .03(v0n2); sums put v0n2 (.65) 5th
    target = action_ids(0, 2)
    assert target in action_ranks(verb, noun)[0, :5]
    assert target not in action_ranks(np.log(verb), np.log(noun))[0, :5]
    metrics = compute_epic_metrics(verb, noun, [0], [2])
    assert metrics['action_top5'] == 0.0 and metrics['action_top1'] == 0.0


def test_compute_action_scores_softmaxes_top_n_like_scipy():
    special = pytest.importorskip('scipy.special')
    rng = np.random.default_rng(1)
    verb, noun = rng.normal(size=(5, 7)), rng.normal(size=(5, 9))
    (verbs, nouns), scores = compute_action_scores(verb, noun, top_n=4)
    assert verbs.shape == nouns.shape == scores.shape == (5, 4)
    top_v = np.sort(verb, axis=1)[:, ::-1][:, :4]
    top_n = np.sort(noun, axis=1)[:, ::-1][:, :4]
    pv, pn = special.softmax(top_v), special.softmax(top_n)  # axis=None, as official
    for i in range(5):
        expected = np.sort(np.outer(pv[i], pn[i]).ravel())[::-1][:4]
        np.testing.assert_allclose(scores[i], expected, rtol=1e-12)
        for v, n, s in zip(verbs[i], nouns[i], scores[i]):
            v_rank = list(np.argsort(-verb[i])).index(v)
            n_rank = list(np.argsort(-noun[i])).index(n)
            assert pv[i, v_rank] * pn[i, n_rank] == pytest.approx(s, rel=1e-12)


def test_topk_accuracy_official_examples():
    ranks = np.array([[1, 2, 3], [2, 3, 1], [3, 1, 2], [1, 2, 3]])
    labels = np.array([1, 3, 2, 1])
    assert topk_accuracy(ranks, labels, ks=(1, 2, 3, 5)) == [0.5, 0.75, 1.0, 1.0]
    assert scores_to_ranks(np.array([[0.1, 0.15, 0.25, 0.3, 0.5],
                                     [0.2, 0.4, 0.1, 0.25, 0.05]])).tolist() == [
                                         [4, 3, 2, 1, 0], [1, 3, 0, 2, 4]]
    with pytest.raises(ValueError, match='at least one'):
        topk_accuracy(np.zeros((0, 3)), np.zeros(0), 1)


def test_perfect_predictions_give_100():
    rng = np.random.default_rng(0)
    n, num_verbs, num_nouns = 40, 97, 300
    verbs, nouns = rng.integers(0, num_verbs, n), rng.integers(0, num_nouns, n)
    participants = rng.choice(['P01', 'P18', 'P32'], n)
    one_hot_verb, one_hot_noun = np.eye(num_verbs)[verbs], np.eye(num_nouns)[nouns]
    # one-hot (log 0 = -inf everywhere else) and merely confident predictions
    confident_verb = 0.5 * one_hot_verb + 0.5 * rng.dirichlet(np.ones(num_verbs), n) / 2
    confident_noun = 0.5 * one_hot_noun + 0.5 * rng.dirichlet(np.ones(num_nouns), n) / 2
    for verb_scores, noun_scores in ((one_hot_verb, one_hot_noun),
                                     (confident_verb, confident_noun)):
        metrics = compute_epic_metrics(
            verb_scores, noun_scores, verbs, nouns, participants,
            tail_verbs=np.unique(verbs)[:20], tail_nouns=np.unique(nouns)[:20],
            unseen_participants=['P18'])
        assert len(metrics) == 14
        assert all(v == 100.0 for v in metrics.values()), metrics


def test_empty_subsets_are_left_out():
    metrics = small_metrics(unseen_participants=['P99'], tail_verbs=[1],
                            tail_nouns=[3])
    assert not any(k.startswith('unseen') for k in metrics)
    assert metrics['tail_verb_top1'] == 0.0  # s3 only
    assert 'tail_noun_top1' not in metrics  # no noun label 3
    assert metrics['tail_action_top1'] == 0.0
    no_lists = compute_epic_metrics(VERB_PROBS, NOUN_PROBS, VERB_LABELS, NOUN_LABELS)
    assert no_lists.keys() == {k for k in EXPECTED if not k.startswith(('unseen', 'tail'))}
    only_verbs = small_metrics(tail_nouns=None)
    assert 'tail_verb_top1' in only_verbs and 'tail_action_top1' not in only_verbs


@pytest.mark.parametrize('change, message', [
    (dict(verb_labels=[0, 2, 2, 1, 0, -1]), 'drop unlabelled'),
    (dict(noun_labels=[1, 0, 0, 2, 2, 4]), r'noun_labels must lie in \[0, 4\)'),
    (dict(verb_scores=-VERB_PROBS), 'probabilities'),
    (dict(noun_scores=NOUN_PROBS * np.nan), 'probabilities'),
    (dict(noun_scores=NOUN_PROBS[:5], noun_labels=NOUN_LABELS[:5]), '6 verb score rows'),
    (dict(verb_labels=VERB_LABELS[:5]), r'verb_labels must be \[6\]'),
    (dict(topk=(1, 101)), 'ranks 100 actions'),
    (dict(topk=(0, )), 'topk'),
])
def test_bad_inputs(change, message):
    args = dict(verb_scores=VERB_PROBS, noun_scores=NOUN_PROBS, verb_labels=VERB_LABELS,
                noun_labels=NOUN_LABELS)
    args.update(change)
    with pytest.raises(ValueError, match=message):
        compute_epic_metrics(**args)
    with pytest.raises(ValueError, match='without participant_ids'):
        epic_subsets(VERB_LABELS, NOUN_LABELS, unseen_participants=UNSEEN)


def test_chunked_ranking_is_the_same(monkeypatch):
    rng = np.random.default_rng(2)
    verb, noun = rng.normal(size=(23, 10)), rng.normal(size=(23, 120))
    whole = action_ranks(verb, noun)
    monkeypatch.setattr(F, '_ACTION_CHUNK', 5)
    np.testing.assert_array_equal(action_ranks(verb, noun), whole)
    assert whole.shape == (23, 100)


# --- an independent, straightforward implementation ------------------------------


def brute_force(verb_probs, noun_probs, verb_labels, noun_labels, participants,
                tail_verbs, tail_nouns, unseen, ks=(1, 5)):
    """Every (verb, noun) product, sorted; subsets and accuracies by loops."""
    hits = {task: {k: [] for k in ks} for task in ('verb', 'noun', 'action')}
    for pv, pn, v, n in zip(verb_probs, noun_probs, verb_labels, noun_labels):
        best_pairs = np.argsort(-np.outer(pv, pn).ravel(), kind='stable')[:max(ks)]
        ranked = {
            'verb': list(np.argsort(-pv, kind='stable')),
            'noun': list(np.argsort(-pn, kind='stable')),
            'action': [divmod(int(i), len(pn)) for i in best_pairs],
        }
        for task, label in (('verb', v), ('noun', n), ('action', (v, n))):
            for k in ks:
                hits[task][k].append(label in ranked[task][:k])
    out = {f'{task}_top{k}': 100 * np.mean(hits[task][k]) for task in hits for k in ks}
    for task, labels in (('verb', verb_labels), ('noun', noun_labels)):
        per_class = {}
        for label, hit in zip(labels, hits[task][1]):
            per_class.setdefault(label, []).append(hit)
        out[f'{task}_mean_class_acc'] = 100 * np.mean([np.mean(h) for h in per_class.values()])
    subsets = {
        'unseen': {t: [p in unseen for p in participants] for t in hits},
        'tail': {'verb': [v in tail_verbs for v in verb_labels],
                 'noun': [n in tail_nouns for n in noun_labels],
                 'action': [v in tail_verbs or n in tail_nouns
                            for v, n in zip(verb_labels, noun_labels)]},
    }
    for name, masks in subsets.items():
        for task, mask in masks.items():
            chosen = [h for h, m in zip(hits[task][1], mask) if m]
            if chosen:
                out[f'{name}_{task}_top1'] = 100 * np.mean(chosen)
    return out


@pytest.mark.parametrize('seed', [0, 1])
def test_matches_brute_force_on_random_data(seed):
    rng = np.random.default_rng(seed)
    n, num_verbs, num_nouns = 150, 97, 300
    # peaked random probabilities, labels often near the top
    verb_probs = rng.dirichlet(np.full(num_verbs, 0.1), n)
    noun_probs = rng.dirichlet(np.full(num_nouns, 0.1), n)
    verb_labels = np.where(rng.random(n) < 0.5, verb_probs.argmax(1),
                           rng.integers(0, num_verbs, n))
    noun_rank = rng.choice([-1, -2, -3], n)  # first, second or third
    noun_labels = np.where(rng.random(n) < 0.7,
                           noun_probs.argsort(1)[np.arange(n), noun_rank],
                           rng.integers(0, num_nouns, n))
    participants = rng.choice(['P01', 'P02', 'P18', 'P32'], n)
    tail_verbs, tail_nouns = set(range(40, 97)), set(range(100, 300))
    metrics = compute_epic_metrics(verb_probs, noun_probs, verb_labels, noun_labels,
                                   participants, tail_verbs, tail_nouns, {'P18', 'P32'})
    expected = brute_force(verb_probs, noun_probs, verb_labels, noun_labels,
                           participants, tail_verbs, tail_nouns, {'P18', 'P32'})
    assert metrics.keys() == expected.keys()
    for key in expected:
        assert metrics[key] == pytest.approx(expected[key], abs=1e-9), key
    assert 0 < metrics['action_top1'] < metrics['action_top5'] < 100


def test_matches_mmaction_accuracy_functions():
    from mmaction.evaluation import mean_class_accuracy, top_k_accuracy
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(20), 200)
    labels = rng.integers(0, 20, 200)
    metrics = compute_epic_metrics(probs, probs, labels, labels, topk=(1, 3))
    top1, top3 = top_k_accuracy(list(probs), labels, (1, 3))
    assert metrics['verb_top1'] == pytest.approx(top1 * 100)
    assert metrics['noun_top3'] == pytest.approx(top3 * 100)
    assert metrics['verb_mean_class_acc'] == pytest.approx(
        mean_class_accuracy(list(probs), labels) * 100)


# --- the official CSVs ------------------------------------------------------------


def test_official_csvs(official_epic_dir):
    path = lambda name: osp.join(official_epic_dir, name)  # noqa: E731
    tail_verbs = read_tail_verbs(path('EPIC_100_tail_verbs.csv'))
    tail_nouns = read_tail_nouns(path('EPIC_100_tail_nouns.csv'))
    unseen_val = read_unseen_participants(
        path('EPIC_100_unseen_participant_ids_validation.csv'))
    unseen_test = read_unseen_participants(
        path('EPIC_100_unseen_participant_ids_test.csv'))
    assert len(tail_verbs) == 86 and len(tail_nouns) == 228
    assert all(0 <= v < 97 for v in tail_verbs) and all(0 <= n < 300 for n in tail_nouns)
    assert len(set(tail_verbs)) == 86 and len(set(tail_nouns)) == 228
    assert unseen_val == ['P18', 'P32'] and len(unseen_test) == 3

    with open(path('EPIC_100_validation.csv'), newline='') as f:
        rows = list(csv.DictReader(f))
    verbs = np.array([int(r['verb_class']) for r in rows])
    nouns = np.array([int(r['noun_class']) for r in rows])
    participants = [r['participant_id'] for r in rows]
    masks = epic_subsets(verbs, nouns, participants, tail_verbs, tail_nouns, unseen_val)
    assert len(rows) == 9668
    assert masks['unseen'].sum() == sum(p in ('P18', 'P32') for p in participants) > 0
    assert 0 < masks['tail_verb'].sum() < masks['tail_action'].sum() < len(rows)
    assert (masks['tail_action'] == masks['tail_verb'] | masks['tail_noun']).all()

    # perfect predictions on the unseen segments and every 10th other one
    keep = masks['unseen'] | (np.arange(len(rows)) % 10 == 0)
    metrics = compute_epic_metrics(np.eye(97)[verbs[keep]], np.eye(300)[nouns[keep]],
                                   verbs[keep], nouns[keep],
                                   np.array(participants)[keep], tail_verbs, tail_nouns,
                                   unseen_val)
    assert len(metrics) == 14 and set(metrics.values()) == {100.0}


def test_csv_errors_name_the_file(tmp_path):
    wrong = tmp_path / 'tail.csv'
    wrong.write_text('noun\n3\n')
    with pytest.raises(EpicCsvError, match=rf"{wrong}:1: expected a 'verb' column"):
        read_tail_verbs(str(wrong))
    bad = tmp_path / 'bad.csv'
    bad.write_text('verb\n3\nthree\n')
    with pytest.raises(EpicCsvError, match=rf"{bad}: 'verb' must hold class indices, "
                       "got 'three'"):
        read_tail_verbs(str(bad))
    empty = tmp_path / 'empty.csv'
    empty.write_text('participant_id\nP01\n\n,\n')
    with pytest.raises(EpicCsvError, match=rf"{empty}:4: empty 'participant_id'"):
        read_unseen_participants(str(empty))
    with pytest.raises(EpicCsvError, match='cannot read'):
        read_tail_nouns(str(tmp_path / 'missing.csv'))


def test_mean_class_accuracy_is_mean_recall_over_present_classes():
    # predictions 0, 0, 2 for labels 0, 1, 1: class 0 recall 1, class 1 recall 0;
    # class 2 is only predicted and does not count (MMAction2 would give 1/3)
    ranks = np.array([[0, 1, 2], [0, 1, 2], [2, 1, 0]])
    assert F.mean_class_accuracy(ranks, np.array([0, 1, 1])) == 0.5


def test_zero_probabilities_rank_as_the_export_writes_them():
    # the export (and so the leaderboard) writes log 0 as LOG_FLOOR: the 5th action
    # pairs a zero verb with the best noun, v1 n2; with log 0 = -inf every pair with
    # a zero ties at product 0 and v2 n0 comes 5th instead
    verb, noun = np.array([[0.6, 0.0, 0.4]]), np.array([[0.0, 0.0, 0.7, 0.3]])
    assert F.log_probabilities(noun).tolist() == [[F.LOG_FLOOR, F.LOG_FLOOR] + np.log(
        [0.7, 0.3]).tolist()]
    floored = action_ranks(F.log_probabilities(verb), F.log_probabilities(noun))
    assert floored[0, :5].tolist() == [2, 2002, 3, 2003, 1002]
    metrics = compute_epic_metrics(verb, noun, [1], [2], topk=(4, 5))
    assert metrics['action_top4'] == 0.0 and metrics['action_top5'] == 100.0
