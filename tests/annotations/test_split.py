"""The seeded stratified group split, on plain tables (no videos)."""
from collections import Counter

import pytest

from epic_mmaction.annotations.split import check_ratios, stratified_group_split

RATIOS = (0.7, 0.15, 0.15)


def _uneven_groups():
    """UCF-like: groups hold several classes, some classes miss some groups."""
    labels, groups = [], []
    for c in range(4):
        for g in range(1, 11):
            if (c == 3 and g > 6) or (c == 0 and g < 4):
                continue
            labels += [c] * (c % 3 + 1)
            groups += [f'g{g}'] * (c % 3 + 1)
    return labels + [1, 2], groups + [None, None]  # two videos without a group


@pytest.mark.parametrize('ratios, message', [
    ((0.7, 0.2, 0.2), 'must sum to 1, got 0.7 + 0.2 + 0.2 = 1.1'),
    ((0.8, 0.2), 'give 3 split ratios'),
    ((1.2, -0.1, -0.1), 'must be >= 0'),
])
def test_bad_ratios_are_explained(ratios, message):
    with pytest.raises(ValueError, match=message.replace('+', r'\+')):
        check_ratios(ratios)


@pytest.mark.parametrize('sizes', [[3, 8, 13, 18, 23], [1, 1, 40], [7] * 6])
@pytest.mark.parametrize('seed', [0, 5])
def test_single_videos_are_stratified_within_one(sizes, seed):
    labels = [c for c, n in enumerate(sizes) for _ in range(n)]
    splits = stratified_group_split(labels, [None] * len(labels), RATIOS, seed)
    counts = Counter(zip(splits, labels))
    for name, ratio in zip(('train', 'val', 'test'), RATIOS):
        for c, n in enumerate(sizes):
            assert abs(counts[name, c] - ratio * n) <= 1, (name, c, counts)


@pytest.mark.parametrize('seed', range(6))
def test_groups_stay_whole_and_classes_near_ratios(seed):
    labels, groups = _uneven_groups()
    splits = stratified_group_split(labels, groups, RATIOS, seed)
    where = {}
    for g, s in zip(groups, splits):
        if g is not None:
            assert where.setdefault(g, s) == s, f'group {g} in {where[g]} and {s}'
    assert set(splits) == {'train', 'val', 'test'}
    counts, totals = Counter(zip(splits, labels)), Counter(labels)
    for name, ratio in zip(('train', 'val', 'test'), RATIOS):
        for c, n in totals.items():
            per_group = c % 3 + 1  # one group's videos of class c
            assert abs(counts[name, c] - ratio * n) <= 1.5 * per_group, (name, c, counts)


def test_seeded_and_deterministic():
    labels, groups = _uneven_groups()
    first = stratified_group_split(labels, groups, RATIOS, seed=0)
    assert stratified_group_split(labels, groups, RATIOS, seed=0) == first
    others = [stratified_group_split(labels, groups, RATIOS, seed=s) for s in (1, 2, 3)]
    assert any(o != first for o in others)


def test_zero_ratio_split_gets_nothing():
    labels, groups = _uneven_groups()
    splits = stratified_group_split(labels, groups, (0.8, 0.2, 0.0), seed=1)
    assert set(splits) == {'train', 'val'}


@pytest.mark.parametrize('seed', range(8))
def test_every_split_gets_a_group_when_there_are_enough(seed):
    """Three groups, one large: still one group for each split."""
    labels = [0] * 12
    groups = ['big'] * 10 + ['a', 'b']
    assert set(stratified_group_split(labels, groups, RATIOS, seed)) == {
        'train', 'val', 'test'}


def test_too_few_groups_is_an_error():
    with pytest.raises(ValueError, match='2 group.*3 splits with ratio > 0.*set a ratio'):
        stratified_group_split([0, 1, 0, 1], ['a', 'a', 'b', 'b'], RATIOS)
