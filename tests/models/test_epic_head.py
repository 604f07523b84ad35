"""EpicActionHead: losses that train, pair marginals, LSTM grouping, test-view averaging."""
import json

import numpy as np
import pytest
import torch

import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
from epic_mmaction.evaluation import compute_epic_metrics
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

V, N = 4, 5


def samples(labels):
    return [ActionDataSample(metainfo=dict(verb_label=v, noun_label=n)) for v, n in labels]


@pytest.fixture
def pairs_file(tmp_path):
    pairs = sorted({(0, 0), (0, 3), (1, 1), (2, 2), (3, 4), (2, 4)})
    path = tmp_path / 'pairs.json'
    path.write_text(json.dumps(dict(pairs=[list(p) for p in pairs])))
    return str(path), pairs


def build(**kwargs):
    cfg = dict(type='EpicActionHead', in_channels=8, num_verbs=V, num_nouns=N,
               dropout_ratio=0.0)
    head = MODELS.build({**cfg, **kwargs})
    head.init_weights()
    return head


@pytest.mark.parametrize('output', ['verb_noun', 'pair'])
def test_training_steps_lower_the_loss(output, pairs_file):
    torch.manual_seed(0)
    head = build(output=output, pairs_file=pairs_file[0])
    feats = torch.randn(6, 8, 2, 3, 3)  # 3D features [N, C, T, H, W]
    data = samples([(0, 0), (1, 1), (2, 2), (3, 4), (0, 3), (2, 4)])
    before = {k: v.clone() for k, v in head.state_dict().items()}
    optim = torch.optim.SGD(head.parameters(), lr=2.0)
    first = None
    for _ in range(100):
        losses = head.loss(feats, data)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        first = first if first is not None else loss.item()
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < 0.5 * first
    changed = [k for k, v in head.state_dict().items() if not torch.equal(v, before[k])]
    assert changed and all(k.startswith('output.') for k in changed)
    assert losses['verb_acc'] == 1.0 and losses['noun_acc'] == 1.0


def test_verb_noun_loss_is_weighted_sum_and_ignores_unlabelled():
    torch.manual_seed(0)
    head = build(verb_weight=2.0, noun_weight=0.5)
    feats = torch.randn(3, 8)
    logits = head(feats)
    losses = head.loss_by_feat(logits, samples([(1, 2), (-1, 3), (2, -1)]))
    ce = torch.nn.functional.cross_entropy
    assert losses['verb_loss_cls'].item() == pytest.approx(
        2.0 * ce(logits[0][[0, 2]], torch.tensor([1, 2])).item(), rel=1e-5)
    assert losses['noun_loss_cls'].item() == pytest.approx(
        0.5 * ce(logits[1][[0, 1]], torch.tensor([2, 3])).item(), rel=1e-5)
    smooth = build(label_smooth_eps=0.1)
    smooth.load_state_dict(head.state_dict())
    assert smooth.loss(feats, samples([(1, 2)] * 3))['verb_loss_cls'] != \
        head.loss(feats, samples([(1, 2)] * 3))['verb_loss_cls'] / 2.0


def test_pair_head_marginalises_and_ignores_unknown_pairs(pairs_file):
    path, pairs = pairs_file
    head = build(output='pair', pairs_file=path)
    assert head.output.num_pairs == len(pairs)
    logits = [torch.randn(2, len(pairs))]
    data = head.predict_by_feat(logits, samples([(0, 0), (1, 1)]))
    probs = logits[0].softmax(-1)
    for row, sample in enumerate(data):
        expect_v = torch.zeros(V)
        expect_n = torch.zeros(N)
        for p, (v, n) in enumerate(pairs):
            expect_v[v] += probs[row, p]
            expect_n[n] += probs[row, p]
        torch.testing.assert_close(sample.verb_score, expect_v)
        torch.testing.assert_close(sample.noun_score, expect_n)
    # (1, 3) is not a pair of the vocabulary: ignored by the loss
    labels = head.output.pair_labels(torch.tensor([1, 0, -1]), torch.tensor([3, 3, 2]))
    assert labels.tolist() == [-1, pairs.index((0, 3)), -1]
    unknown = head.loss_by_feat([logits[0][:1].requires_grad_()], samples([(1, 3)]))
    assert unknown['loss_cls'].item() == 0.0
    unknown['loss_cls'].backward()


def test_lstm_head_groups_frames_and_averages_test_views():
    torch.manual_seed(0)
    head = build(temporal=dict(type='lstm', num_segments=4, hidden_size=6)).eval()
    assert head.temporal.out_channels == 12
    frames = torch.randn(2 * 3 * 4, 8, 2, 2)  # 2 samples x 3 views x 4 frames (2D)
    data = head.predict(frames, samples([(0, 0), (1, 1)]))
    with torch.no_grad():
        per_view = [t.softmax(-1).view(2, 3, -1).mean(1) for t in head(frames)]
    torch.testing.assert_close(data[0].verb_score, per_view[0][0])
    torch.testing.assert_close(data[1].noun_score, per_view[1][1])
    # views are separate clips: the LSTM runs on each 4-frame group alone
    with torch.no_grad():
        alone = head(frames[4:8])[0]
        together = head(frames)[0][1]
    torch.testing.assert_close(alone[0], together)
    with pytest.raises(ValueError, match='num_segments=4'):
        head(torch.randn(6, 8, 2, 2))


def test_average_clips_score_vs_prob():
    torch.manual_seed(0)
    prob = build(average_clips='prob').eval()
    score = build(average_clips='score').eval()
    score.load_state_dict(prob.state_dict())
    feats = torch.randn(2, 8)  # one sample, two views
    p = prob.predict(feats, samples([(0, 0)]))[0].verb_score
    s = score.predict(feats, samples([(0, 0)]))[0].verb_score
    logits = prob(feats)[0]
    torch.testing.assert_close(p, logits.softmax(-1).mean(0))
    torch.testing.assert_close(s, logits.mean(0).softmax(-1))


def test_slowfast_tuple_features_are_concatenated():
    head = build(in_channels=8 + 4)
    out = head((torch.randn(2, 8, 1, 2, 2), torch.randn(2, 4, 4, 2, 2)))
    assert out[0].shape == (2, V) and out[1].shape == (2, N)


def test_same_metric_numbers_for_both_head_types(tmp_path):
    """A pair head whose pair logits are verb + noun logits predicts the same
    verb/noun scores as the verb/noun head, so the metric cannot tell them apart."""
    torch.manual_seed(1)
    pairs = [(v, n) for v in range(V) for n in range(N)]
    path = tmp_path / 'all_pairs.json'
    path.write_text(json.dumps(dict(pairs=[list(p) for p in pairs])))
    verb_noun = build().eval()
    pair = build(output='pair', pairs_file=str(path)).eval()
    with torch.no_grad():
        w_v, b_v = verb_noun.output.fc_verb.weight, verb_noun.output.fc_verb.bias
        w_n, b_n = verb_noun.output.fc_noun.weight, verb_noun.output.fc_noun.bias
        for p, (v, n) in enumerate(pairs):
            pair.output.fc_pair.weight[p] = w_v[v] + w_n[n]
            pair.output.fc_pair.bias[p] = b_v[v] + b_n[n]
    feats = torch.randn(12, 8)
    labels = [(int(v), int(n)) for v, n in zip(torch.randint(V, (12,)), torch.randint(N, (12,)))]
    results = []
    for head in (verb_noun, pair):
        data = head.predict(feats, samples(labels))
        vs = torch.stack([d.verb_score for d in data]).numpy()
        ns = torch.stack([d.noun_score for d in data]).numpy()
        results.append((vs, ns, compute_epic_metrics(
            vs, ns, np.array([v for v, _ in labels]), np.array([n for _, n in labels]))))
    np.testing.assert_allclose(results[0][0], results[1][0], atol=1e-5)
    np.testing.assert_allclose(results[0][1], results[1][1], atol=1e-5)
    assert results[0][2] == pytest.approx(results[1][2])


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(ValueError, match='pairs_file'):
        build(output='pair')
    with pytest.raises(ValueError, match='output must be one of'):
        build(output='action')
    with pytest.raises(KeyError, match='meta_keys'):
        build().loss(torch.randn(1, 8), [ActionDataSample()])
