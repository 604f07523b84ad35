"""Ensembles: hand-computed prob/logit averages, weights, alignment, clear errors."""
import numpy as np
import pytest

from epic_mmaction.results import EpicResults
from epic_mmaction.export import EnsembleError, ensemble, normalise_weights
from epic_mmaction.export.scores import LOG_FLOOR, log_probabilities

from .helpers import random_results, subset


def two_by_two(ids, verbs, nouns, verb_label=(-1, -1), noun_label=(-1, -1),
               participants=None):
    return EpicResults(
        narration_id=np.array(ids), participant_id=np.array(
            participants or [i.split('_')[0] for i in ids]),
        verb_score=np.array(verbs, np.float32), noun_score=np.array(nouns, np.float32),
        verb_label=np.array(verb_label), noun_label=np.array(noun_label))


A = two_by_two(['P01_01_0', 'P01_01_1'],
               verbs=[[0.5, 0.3, 0.2], [0.5, 0.5, 0.0]],
               nouns=[[0.5, 0.5], [1.0, 0.0]])
# the same segments, listed the other way round
B = two_by_two(['P01_01_1', 'P01_01_0'],
               verbs=[[0.2, 0.8, 0.0], [0.1, 0.1, 0.8]],
               nouns=[[0.0, 1.0], [0.8, 0.2]])


def test_prob_average_by_hand_aligned_by_id():
    out = ensemble([A, B], weights=[3, 1], mode='prob')
    assert out.narration_id.tolist() == ['P01_01_0', 'P01_01_1']  # the first's order
    # P01_01_0: .75 * [.5, .3, .2] + .25 * [.1, .1, .8]
    np.testing.assert_allclose(out.verb_score, [[0.4, 0.25, 0.35], [0.425, 0.575, 0.0]],
                               rtol=1e-6)
    np.testing.assert_allclose(out.noun_score, [[0.575, 0.425], [0.75, 0.25]], rtol=1e-6)
    assert out.verb_score.dtype == np.float64
    # equal weights by default, and weights are normalised
    np.testing.assert_allclose(ensemble([A, B]).verb_score[0], [0.3, 0.2, 0.5], rtol=1e-6)
    np.testing.assert_array_equal(ensemble([A, B], weights=[2, 2]).verb_score,
                                  ensemble([A, B]).verb_score)


def test_logit_average_by_hand():
    # noun of P01_01_0: geometric mean of [.5, .5] and [.8, .2], renormalised:
    #   equal weights: sqrt(.4) : sqrt(.1) = 2 : 1
    #   weights 1:3:   .5^.25 .8^.75 : .5^.25 .2^.75 = 4^.75 : 1
    out = ensemble([A, B], mode='logit')
    np.testing.assert_allclose(out.noun_score[0], [2 / 3, 1 / 3], rtol=1e-6)
    out = ensemble([A, B], weights=[1, 3], mode='logit')
    ratio = 4 ** 0.75
    np.testing.assert_allclose(out.noun_score[0], [ratio / (1 + ratio), 1 / (1 + ratio)],
                               rtol=1e-6)
    # verbs of P01_01_0 by the formula: softmax(.25 log a + .75 log b)
    expected = np.exp(0.25 * np.log([0.5, 0.3, 0.2]) + 0.75 * np.log([0.1, 0.1, 0.8]))
    np.testing.assert_allclose(out.verb_score[0], expected / expected.sum(), rtol=1e-6)
    np.testing.assert_allclose(out.verb_score.sum(axis=1), 1.0)


def test_logit_average_with_zero_probabilities_stays_finite():
    # P01_01_1 nouns: [1, 0] and [0, 1] contradict each other completely
    out = ensemble([A, B], mode='logit')
    np.testing.assert_allclose(out.noun_score[1], [0.5, 0.5])
    # a verb both models rule out stays (all but) ruled out, finitely
    assert 0 < out.verb_score[1, 2] < 1e-300 and np.isfinite(out.verb_score).all()
    np.testing.assert_allclose(ensemble([A, B], mode='logit').verb_score[1][:2],
                               [1 / 3, 2 / 3], rtol=1e-6)  # sqrt(.5*.2) : sqrt(.5*.8)
    assert log_probabilities(np.array([0.0]))[0] == LOG_FLOOR


def test_single_result_is_returned_as_is():
    assert ensemble([A]) is A
    assert ensemble([A], mode='logit', weights=[5]) is A


def test_labels_merge_where_known_and_must_agree():
    a = two_by_two(['x_0', 'x_1'], [[1, 0]] * 2, [[1, 0]] * 2, verb_label=(-1, 1),
                   noun_label=(0, -1))
    b = two_by_two(['x_0', 'x_1'], [[1, 0]] * 2, [[1, 0]] * 2, verb_label=(0, 1),
                   noun_label=(-1, -1))
    out = ensemble([a, b])
    assert out.verb_label.tolist() == [0, 1] and out.noun_label.tolist() == [0, -1]
    c = two_by_two(['x_0', 'x_1'], [[1, 0]] * 2, [[1, 0]] * 2, verb_label=(0, 0))
    with pytest.raises(EnsembleError, match=r"c.npz: verb_label disagrees with a.npz for "
                       r"1 segments, e.g. \['x_1 \(1 vs 0\)'\]"):
        ensemble([a, c], names=['a.npz', 'c.npz'])
    d = two_by_two(['x_0', 'x_1'], [[1, 0]] * 2, [[1, 0]] * 2, participants=['x', 'P02'])
    with pytest.raises(EnsembleError, match=r"d.npz: participant_id disagrees .*\['x_1'\]"):
        ensemble([a, d], names=['a.npz', 'd.npz'])


def test_other_ids_or_classes_are_refused_naming_the_file():
    ids = [f'P02_03_{i}' for i in range(10)]
    full = random_results(ids, 4, 5)
    names = ['full.npz', 'other.npz']
    with pytest.raises(EnsembleError, match=r"other.npz: lacks 2 narration ids, e.g. "
                       r"\['P02_03_8', 'P02_03_9'\]"):
        ensemble([full, subset(full, slice(0, 8))], names=names)
    more = random_results(ids + ['P09_01_0'], 4, 5)
    with pytest.raises(EnsembleError, match=r"other.npz: has 1 other narration ids, e.g. "
                       r"\['P09_01_0'\]"):
        ensemble([full, more], names=names)
    with pytest.raises(EnsembleError, match='other.npz: 4 verbs and 6 nouns, but full.npz '
                       'has 4 verbs and 5 nouns'):
        ensemble([full, random_results(ids, 4, 6)], names=names)
    dup = subset(full, [0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    with pytest.raises(EnsembleError, match=r"other.npz: 1 duplicate narration ids, e.g. "
                       r"\['P02_03_1'\]"):
        ensemble([full, dup], names=names)
    with pytest.raises(EnsembleError, match=r"full.npz: 1 duplicate"):
        ensemble([dup, full], names=['full.npz', 'x'])


@pytest.mark.parametrize('weights, message', [
    ([1], '1 weights for 2 results files'),
    ([1, 0], r'weights must be finite and > 0, got \[1.0, 0.0\]'),
    ([1, -2], 'must be finite and > 0'),
    ([1, float('nan')], 'must be finite and > 0'),
])
def test_bad_weights(weights, message):
    with pytest.raises(EnsembleError, match=message):
        ensemble([A, B], weights=weights)


def test_bad_mode_and_no_results():
    with pytest.raises(EnsembleError, match="mode must be one of \\('prob', 'logit'\\)"):
        ensemble([A, B], mode='mean')
    with pytest.raises(EnsembleError, match='no results'):
        ensemble([])
    np.testing.assert_allclose(normalise_weights([1, 3], 2), [0.25, 0.75])
