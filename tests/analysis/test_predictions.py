"""Per-narration predictions: top-5 order, action products, labels, CSV."""
import numpy as np
import pandas as pd
import pytest

from epic_mmaction.analysis import predictions_table, resolve_labels, write_predictions_csv
from epic_mmaction.annotations.records import read_classes
from epic_mmaction.evaluation import top_actions, top_k
from epic_mmaction.results import EpicResults

from .helpers import NOUNS, VERBS, one_hot_results, write_gt

# take put open close wash cut; plate tap cup knife pan bowl
VERB_P = [0.05, 0.4, 0.1, 0.25, 0.15, 0.05]
NOUN_P = [0.3, 0.05, 0.3, 0.2, 0.1, 0.05]


def hand_results(verb_label=1, noun_label=2):
    return EpicResults(narration_id=np.array(['P01_01_0']), participant_id=np.array(['P01']),
                       verb_score=np.array([VERB_P], np.float32),
                       noun_score=np.array([NOUN_P], np.float32),
                       verb_label=np.array([verb_label]), noun_label=np.array([noun_label]))


def test_top_k_order_and_ties_by_lower_id():
    ids, scores = top_k(np.array([VERB_P]), 5)
    assert ids.tolist() == [[1, 3, 4, 2, 0]]  # take (0) and cut (5) tie at 0.05: take
    np.testing.assert_allclose(scores, [[0.4, 0.25, 0.15, 0.1, 0.05]])
    ids, _ = top_k(np.array([NOUN_P]), 5)
    assert ids.tolist() == [[0, 2, 3, 4, 1]]  # plate and cup tie at 0.3: plate first
    ids, _ = top_k(np.array([[0.5, 0.5]]), 5)
    assert ids.tolist() == [[0, 1]]  # k clipped to the number of classes


def test_predictions_by_hand(tmp_path):
    table = predictions_table(hand_results(), VERBS, NOUNS)
    row = table.iloc[0]
    assert [row[f'verb_{r}'] for r in range(1, 6)] == ['put', 'close', 'wash', 'open', 'take']
    assert [row[f'noun_{r}'] for r in range(1, 6)] == ['plate', 'cup', 'knife', 'pan', 'tap']
    # p(verb) * p(noun): put plate .4*.3, put cup .4*.3 (tie: lower noun id first),
    # put knife .4*.2 = .08, close plate .25*.3 = .075, close cup .075
    assert [row[f'action_{r}'] for r in range(1, 6)] == [
        'put plate', 'put cup', 'put knife', 'close plate', 'close cup']
    np.testing.assert_allclose([row[f'action_{r}_score'] for r in range(1, 6)],
                               [0.12, 0.12, 0.08, 0.075, 0.075], rtol=1e-6)
    assert (row['gt_verb'], row['gt_noun'], row['gt_action']) == ('put', 'cup', 'put cup')
    assert (row['verb_correct'], row['noun_correct'], row['action_correct']) == (1, 0, 0)

    path = write_predictions_csv(table, str(tmp_path / 'p.csv'))
    back = pd.read_csv(path)
    assert list(back.columns[:8]) == ['narration_id', 'participant_id', 'gt_verb', 'gt_noun',
                                      'gt_action', 'verb_correct', 'noun_correct',
                                      'action_correct']
    assert list(back.columns[8:12]) == ['verb_1', 'verb_1_score', 'verb_2', 'verb_2_score']
    assert back.shape == (1, 8 + 3 * 5 * 2)
    assert back['action_1'][0] == 'put plate' and back['action_1_score'][0] == 0.12
    assert back['verb_1_score'][0] == 0.4


def test_unlabelled_rows_have_empty_truth(tmp_path):
    table = predictions_table(hand_results(-1, -1), VERBS, NOUNS)
    back = pd.read_csv(write_predictions_csv(table, str(tmp_path / 'p.csv')),
                       keep_default_na=False)
    assert [back[c][0] for c in ('gt_verb', 'gt_noun', 'gt_action', 'verb_correct',
                                 'noun_correct', 'action_correct')] == [''] * 6
    assert back['verb_1'][0] == 'put'


def test_top_actions_match_a_full_ranking_with_ties():
    rng = np.random.default_rng(1)
    # probabilities on a coarse grid: many equal scores and equal products
    verb = rng.integers(0, 4, (200, 7)).astype(np.float32) / 4
    noun = rng.integers(0, 4, (200, 9)).astype(np.float32) / 4
    verb[0] = 0  # all-zero scores: every product ties
    verb[1, :] = 0.5  # equal verbs, different nouns
    verbs, nouns, scores = top_actions(verb, noun, 5)
    for i in range(200):
        # all 63 pairs, best product first; ties: better-ranked verb, then noun
        verb_rank = np.argsort(np.argsort(-verb[i], kind='stable'))
        noun_rank = np.argsort(np.argsort(-noun[i], kind='stable'))
        v, n = np.divmod(np.arange(63), 9)
        product = verb[i, v].astype(np.float64) * noun[i, n]
        order = np.lexsort((noun_rank[n], verb_rank[v], -product))[:5]
        assert verbs[i].tolist() == v[order].tolist(), i
        assert nouns[i].tolist() == n[order].tolist(), i
        np.testing.assert_array_equal(scores[i], product[order])
    assert verbs[0].tolist() == [0] * 5  # all zero: the first verb with its top nouns
    assert nouns[0].tolist() == np.argsort(-noun[0], kind='stable')[:5].tolist()


def test_class_names_must_match_scores():
    with pytest.raises(ValueError, match='5 verb class names but the results have 6 verb'):
        predictions_table(hand_results(), VERBS[:5], NOUNS)


def test_labels_from_ground_truth_fill_unlabelled_only(tmp_path):
    results = one_hot_results([0, -1, -1, 2], [1, -1, -1, 3], [0, 0, 0, 0], [0, 0, 0, 0])
    gt = write_gt(tmp_path / 'gt.csv', [('P01_01_0', 5, 5), ('P01_01_1', 4, 2)])
    labels = resolve_labels(results, gt)
    assert labels.verb.tolist() == [0, 4, -1, 2] and labels.noun.tolist() == [1, 2, -1, 3]
    assert (labels.from_results, labels.from_gt, labels.disagree) == (2, 1, 1)
    assert labels.labelled.tolist() == [True, True, False, True]
    assert results.verb_label.tolist() == [0, -1, -1, 2]  # not modified
    no_gt = resolve_labels(results)
    assert no_gt.labelled.tolist() == [True, False, False, True]

    other = write_gt(tmp_path / 'other.csv', [('P09_01_0', 0, 0)])
    with pytest.raises(ValueError, match='wrong split'):
        resolve_labels(results, other)
    bad = write_gt(tmp_path / 'bad.csv', [('P01_01_1', 6, 0)])
    with pytest.raises(ValueError, match='verb 6, noun 0; the results have 6 verbs'):
        resolve_labels(results, bad)


def test_official_validation_labels_and_classes(official_epic_dir):
    """The official CSVs: 97 verbs, 300 nouns, labels of EPIC_100_validation.csv."""
    verbs = read_classes(f'{official_epic_dir}/EPIC_100_verb_classes.csv')
    nouns = read_classes(f'{official_epic_dir}/EPIC_100_noun_classes.csv')
    ids = np.array(['P01_11_0', 'P01_11_1', 'P99_99_0'])
    rng = np.random.default_rng(0)
    results = EpicResults(
        narration_id=ids, participant_id=np.array(['P01', 'P01', 'P99']),
        verb_score=rng.dirichlet(np.ones(97), 3).astype(np.float32),
        noun_score=rng.dirichlet(np.ones(300), 3).astype(np.float32),
        verb_label=np.full(3, -1), noun_label=np.full(3, -1))
    labels = resolve_labels(results, f'{official_epic_dir}/EPIC_100_validation.csv')
    assert labels.verb.tolist() == [0, 1, -1] and labels.noun.tolist() == [2, 2, -1]
    table = predictions_table(results, verbs, nouns, labels.verb, labels.noun)
    assert table['gt_action'].tolist() == ['take plate', 'put plate', '']
