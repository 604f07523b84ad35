"""Offline evaluation: labels from the ground-truth CSV, clear errors, 100 % when perfect."""
import os.path as osp
from dataclasses import replace

import numpy as np
import pytest

from epic_mmaction.evaluation import (compute_epic_metrics, read_tail_nouns,
                                      read_tail_verbs, read_unseen_participants)
from epic_mmaction.export import (GroundTruthError, attach_ground_truth, evaluate_results,
                                  read_ground_truth)
from epic_mmaction.utils import EpicError

from .helpers import random_results, write_gt

IDS = [f'P{p:02d}_01_{i}' for p in (1, 2) for i in range(4)]
VERBS = [0, 1, 2, 0, 1, 2, 0, 1]
NOUNS = [3, 2, 1, 0, 3, 2, 1, 0]


@pytest.fixture
def gt(tmp_path):
    return read_ground_truth(write_gt(tmp_path / 'gt.csv', IDS, VERBS, NOUNS))


def test_labels_and_participants_come_from_the_csv(gt):
    res = random_results(IDS[::-1] + ['P03_01_0'], 3, 4)  # other order, one extra
    out = attach_ground_truth(res, gt)
    assert out.narration_id.tolist() == IDS
    assert out.verb_label.tolist() == VERBS and out.noun_label.tolist() == NOUNS
    assert out.participant_id.tolist() == ['P01'] * 4 + ['P02'] * 4
    np.testing.assert_array_equal(out.verb_score, res.verb_score[::-1][1:])
    evaluation = evaluate_results(res, gt, unseen_participants=['P02'])
    assert evaluation.num_segments == 8 and evaluation.num_ignored == 1
    assert evaluation.subset_sizes == {'unseen': 4}
    assert evaluation.metrics == compute_epic_metrics(
        out.verb_score, out.noun_score, VERBS, NOUNS, out.participant_id,
        unseen_participants=['P02'])


def test_results_must_cover_and_agree_with_the_csv(gt):
    res = random_results(IDS[:5], 3, 4)
    with pytest.raises(GroundTruthError, match=r"^run.npz: 3 of the 8 narrations of .*gt.csv "
                       r"are missing, e.g. \['P02_01_1', 'P02_01_2', 'P02_01_3'\]"):
        evaluate_results(res, gt, where='run.npz')
    labelled = random_results(IDS, 3, 4, verb_label=np.array(VERBS),
                              noun_label=np.array(NOUNS[:7] + [1]))
    with pytest.raises(GroundTruthError, match=r"run.npz: 1 noun labels disagree with "
                       r".*gt.csv, e.g. \['P02_01_3 \(1 vs 0\)'\]"):
        evaluate_results(labelled, gt, where='run.npz')
    with pytest.raises(GroundTruthError, match=r'gt.csv: noun_class 3 of P01_01_0 is not '
                       'among the 3 noun classes of run.npz'):
        evaluate_results(random_results(IDS, 3, 3), gt, where='run.npz')


def test_csv_without_labels_or_with_duplicates(tmp_path, official_epic_dir):
    with pytest.raises(GroundTruthError, match=r'13092 narrations have no verb_class/'
                       r"noun_class, e.g. \['P01_101_0'.*evaluate on the validation split"):
        read_ground_truth(osp.join(official_epic_dir, 'EPIC_100_test_timestamps.csv'))
    path = write_gt(tmp_path / 'dup.csv', IDS + IDS[:1], VERBS + [0], NOUNS + [0])
    # refused by the CSV reader (naming the lines) or by read_ground_truth
    with pytest.raises(EpicError, match=r"(?=.*dup\.csv)(?=.*P01_01_0)"):
        read_ground_truth(path)


def test_perfect_predictions_score_100_on_the_validation_split(official_epic_dir):
    def path(name):
        return osp.join(official_epic_dir, name)
    gt = read_ground_truth(path('EPIC_100_validation.csv'))
    assert len(gt) == 9668
    n = len(gt)
    verb, noun = np.full((n, 97), 1e-4, np.float32), np.full((n, 300), 1e-4, np.float32)
    verb[np.arange(n), gt.verb_class] = 0.9
    noun[np.arange(n), gt.noun_class] = 0.9
    res = replace(random_results(gt.narration_id[::-1]), verb_score=verb[::-1],
                  noun_score=noun[::-1])  # any order
    evaluation = evaluate_results(
        res, gt, read_tail_verbs(path('EPIC_100_tail_verbs.csv')),
        read_tail_nouns(path('EPIC_100_tail_nouns.csv')),
        read_unseen_participants(path('EPIC_100_unseen_participant_ids_validation.csv')))
    assert set(evaluation.metrics) == {
        f'{s}{t}_top{k}' for s in ('', 'unseen_', 'tail_') for t in ('verb', 'noun', 'action')
        for k in ((1, 5) if s == '' else (1, ))} | {'verb_mean_class_acc',
                                                      'noun_mean_class_acc'}
    assert all(v == 100.0 for v in evaluation.metrics.values()), evaluation.metrics
    assert evaluation.subset_sizes['unseen'] > 0 and evaluation.subset_sizes['tail_action'] > 0
