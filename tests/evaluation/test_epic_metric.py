"""EpicActionMetric through mmengine's Evaluator with real ActionDataSamples."""
import logging
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from epic_mmaction.evaluation import summary_table
from epic_mmaction.evaluation.metrics import EpicActionMetric
from epic_mmaction.evaluation import EpicCsvError, compute_epic_metrics
from mmaction.registry import METRICS
from mmaction.structures import ActionDataSample

from .test_functional import (EXPECTED, NOUN_LABELS, NOUN_PROBS, PARTICIPANTS,
                              TAIL_NOUNS, TAIL_VERBS, UNSEEN, VERB_LABELS, VERB_PROBS)

init_default_scope('mmaction')


def make_sample(verb_score, noun_score, narration_id, participant_id, verb_label,
                noun_label):
    """What a verb/noun recognizer's predict() returns for one segment."""
    sample = ActionDataSample()
    sample.set_metainfo(dict(narration_id=narration_id, participant_id=participant_id,
                             verb_label=verb_label, noun_label=noun_label))
    sample.set_field(torch.as_tensor(verb_score, dtype=torch.float32), 'verb_score')
    sample.set_field(torch.as_tensor(noun_score, dtype=torch.float32), 'noun_score')
    return sample


def small_samples():
    return [make_sample(VERB_PROBS[i], NOUN_PROBS[i], f'{PARTICIPANTS[i]}_01_{i}',
                        PARTICIPANTS[i], int(VERB_LABELS[i]), int(NOUN_LABELS[i]))
            for i in range(len(VERB_PROBS))]


def unlabelled_samples(count=2):
    rng = np.random.default_rng(5)
    return [make_sample(rng.dirichlet(np.ones(3)), rng.dirichlet(np.ones(4)),
                        f'P40_01_{i}', 'P40', -1, -1) for i in range(count)]


@pytest.fixture
def lists(tmp_path):
    """Tail and unseen lists in the official CSV format."""
    files = {}
    for name, column, values in (('tail_verbs', 'verb', TAIL_VERBS),
                                 ('tail_nouns', 'noun', TAIL_NOUNS),
                                 ('unseen_participants', 'participant_id', UNSEEN)):
        path = tmp_path / f'{name}.csv'
        path.write_text('\n'.join([column, *map(str, values)]) + '\n')
        files[f'{name}_file'] = str(path)
    return files


@pytest.fixture
def log_records():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def evaluate(metric_cfg, batches):
    evaluator = Evaluator(metric_cfg)
    for batch in batches:
        evaluator.process(data_samples=batch, data_batch=None)
    return evaluator.evaluate(size=sum(len(b) for b in batches))


def test_evaluator_gives_the_pure_function_numbers(lists, log_records):
    samples = small_samples() + unlabelled_samples(2)
    order = [6, 0, 1, 2, 7, 3, 4, 5]  # unlabelled ones mixed in, two batches
    batches = [[samples[i] for i in order[:3]], [samples[i] for i in order[3:]]]
    metrics = evaluate(dict(type='EpicActionMetric', **lists), batches)

    expected = compute_epic_metrics(
        VERB_PROBS.astype(np.float32), NOUN_PROBS.astype(np.float32), VERB_LABELS,
        NOUN_LABELS, PARTICIPANTS, TAIL_VERBS, TAIL_NOUNS, UNSEEN)
    assert metrics == {f'epic/{k}': v for k, v in expected.items()}
    for key, value in EXPECTED.items():
        assert metrics[f'epic/{key}'] == pytest.approx(value, abs=1e-4), key

    text = '\n'.join(r.getMessage() for r in log_records)
    warnings = [r.getMessage() for r in log_records if r.levelno == logging.WARNING]
    assert any('skipped 2 of 8 segments' in w for w in warnings), warnings
    assert '6 segments (unseen 3, tail_verb 2, tail_noun 2, tail_action 3)' in text
    assert summary_table(metrics) in text


def test_built_from_config_with_options(lists):
    metric = METRICS.build(dict(type='EpicActionMetric', topk=(1, 2),
                                prefix='val', **lists))
    assert isinstance(metric, EpicActionMetric)
    assert metric.tail_verbs == TAIL_VERBS and metric.unseen_participants == UNSEEN
    assert 'topk=(1, 2)' in repr(metric)
    metrics = evaluate(metric, [small_samples()])
    assert metrics['val/action_top2'] == pytest.approx(50.0, abs=1e-4)
    assert 'val/verb_top5' not in metrics
    # without lists: overall numbers only
    plain = evaluate(dict(type='EpicActionMetric'), [small_samples()])
    assert sorted(plain) == sorted(f'epic/{k}' for k in EXPECTED
                                   if not k.startswith(('unseen', 'tail')))


def test_perfect_predictions_give_100(lists):
    samples = [make_sample(np.eye(3)[v], np.eye(4)[n], f'x{i}', PARTICIPANTS[i], int(v),
                           int(n))
               for i, (v, n) in enumerate(zip(VERB_LABELS, NOUN_LABELS))]
    metrics = evaluate(dict(type='EpicActionMetric', **lists), [samples])
    assert len(metrics) == 14 and set(metrics.values()) == {100.0}


def test_no_labelled_segments_gives_no_metrics(log_records):
    metrics = evaluate(dict(type='EpicActionMetric'), [unlabelled_samples(3)])
    assert metrics == {}
    warnings = [r.getMessage() for r in log_records if r.levelno == logging.WARNING]
    assert any('skipped 3 of 3' in w for w in warnings)
    assert any('no labelled segments' in w for w in warnings)


def test_empty_subsets_are_reported(tmp_path, log_records):
    unseen = tmp_path / 'unseen.csv'
    unseen.write_text('participant_id\nP99\n')
    metrics = evaluate(dict(type='EpicActionMetric', unseen_participants_file=str(unseen)),
                       [small_samples()])
    assert not any('unseen' in k for k in metrics)
    assert any('no unseen segments among 6' in r.getMessage() for r in log_records)


def test_samples_without_the_fields_are_refused():
    sample = make_sample(VERB_PROBS[0], NOUN_PROBS[0], 'P01_01_0', 'P01', 0, 1)
    del sample.noun_score
    with pytest.raises(KeyError, match=r"lacks \['noun_score'\].*PackActionInputs"):
        evaluate(dict(type='EpicActionMetric'), [[sample]])


def test_bad_arguments_fail_when_built(tmp_path):
    with pytest.raises(ValueError, match='topk'):
        EpicActionMetric(topk=(1, 500))
    with pytest.raises(EpicCsvError, match='cannot read'):
        EpicActionMetric(tail_verbs_file=str(tmp_path / 'missing.csv'))


def test_official_lists(official_epic_dir):
    path = lambda name: osp.join(official_epic_dir, name)  # noqa: E731
    metric = EpicActionMetric(
        tail_verbs_file=path('EPIC_100_tail_verbs.csv'),
        tail_nouns_file=path('EPIC_100_tail_nouns.csv'),
        unseen_participants_file=path('EPIC_100_unseen_participant_ids_validation.csv'))
    assert len(metric.tail_verbs) == 86 and len(metric.tail_nouns) == 228
    assert metric.unseen_participants == ['P18', 'P32']


def test_summary_table_layout():
    metrics = {f'epic/{k}': v for k, v in EXPECTED.items()}
    table = summary_table(metrics)
    assert table.splitlines() == [
        '         | Top-1 accuracy (%)     | Top-5 accuracy (%)',
        '         |   verb    noun  action |   verb    noun  action',
        'overall  |  50.00   66.67   16.67 | 100.00  100.00   83.33',
        'unseen   |  33.33   66.67    0.00 |      -       -       -',
        'tail     | 100.00   50.00   33.33 |      -       -       -',
        'mean class accuracy (%): verb 44.44, noun 72.22',
    ]
    assert summary_table(EXPECTED) == table  # prefix or not
    assert summary_table({}).splitlines()[2] == 'overall  |      -       -       -'
