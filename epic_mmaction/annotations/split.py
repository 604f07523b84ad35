"""Seeded, stratified train/val/test split that keeps each group in one split.

Whole-video datasets (UCF50/101, HRI30) have no official validation split, and
their clips come in groups (UCF: the same actors and scene, ``_gGG_``): clips
of one group in both train and test leak the scene into the test score. So
whole groups are assigned, one at a time in a seeded random order, each to
the split whose per-class shares it brings closest to the ratios; of a few
seeded orders the best-stratified result is kept. Per-class counts then land
within about one group's share of the ratios.
"""
import math
import random
from collections import Counter
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

from ..utils import UsageError

SPLITS = ('train', 'val', 'test')
ATTEMPTS = 8  # seeded group orders tried; the best-stratified split is kept


def check_ratios(ratios: Sequence[float], names: Sequence[str] = SPLITS
                 ) -> Tuple[float, ...]:
    """Ratios as a tuple summing to exactly 1; raises ValueError unless one per
    split, each >= 0, and they sum to 1 (within 0.001: 0.333 0.333 0.333 will do)."""
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) != len(names):
        raise UsageError(f'give {len(names)} split ratios ({" ".join(names)}), '
                         f'got {len(ratios)}')
    if any(not math.isfinite(r) or r < 0 for r in ratios):
        raise UsageError(f'split ratios must be >= 0, got {list(ratios)}')
    total = sum(ratios)
    if abs(total - 1) > 1e-3:
        raise UsageError(f'split ratios ({" ".join(names)}) must sum to 1, got '
                         f'{" + ".join(f"{r:g}" for r in ratios)} = {total:g}')
    return tuple(r / total for r in ratios)


def stratified_group_split(labels: Sequence[Hashable],
                           groups: Sequence[Optional[Hashable]],
                           ratios: Sequence[float], seed: int = 0,
                           names: Sequence[str] = SPLITS) -> List[str]:
    """The split name of each item.

    Args:
        labels: the class of each item (any hashable).
        groups: the group of each item; items of one group share a split.
            ``None``: the item is a group of its own.
        ratios: the share of each split in ``names``; they sum to 1, and a
            split with ratio 0 gets nothing.
        seed: the same seed, labels and groups give the same split.

    Raises ValueError when there are fewer groups than splits with ratio > 0
    (some split would be empty).
    """
    ratios = check_ratios(ratios, names)
    if len(labels) != len(groups):
        raise UsageError(f'{len(labels)} labels but {len(groups)} groups')
    keys = [(0, str(g)) if g is not None else (1, i) for i, g in enumerate(groups)]
    members: Dict[tuple, List[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    active = [s for s, r in enumerate(ratios) if r > 0]
    if len(members) < len(active):
        raise UsageError(
            f'{len(members)} group(s) cannot fill {len(active)} splits with ratio > 0 '
            f'({", ".join(names[s] for s in active)}): set a ratio to 0, or use a '
            'finer group pattern')

    totals = Counter(labels)
    rng = random.Random(seed)
    best: Optional[Tuple[float, Dict[tuple, int]]] = None
    for _ in range(ATTEMPTS):
        order = sorted(members)
        rng.shuffle(order)
        assigned, counts = _greedy(order, members, labels, totals, ratios, active)
        error = sum((counts[s][c] / n - ratios[s]) ** 2
                    for s in active for c, n in totals.items())
        if best is None or error < best[0] - 1e-12:
            best = (error, assigned)
    return [names[best[1][key]] for key in keys]


def _greedy(order: Sequence[tuple], members: Dict[tuple, List[int]],
            labels: Sequence[Hashable], totals: Counter, ratios: Sequence[float],
            active: Sequence[int]) -> Tuple[Dict[tuple, int], List[Counter]]:
    """Each group in turn to the split whose per-class shares it brings closest
    to the ratios (least added squared error of the class fractions)."""
    counts = [Counter() for _ in ratios]
    filled = [0] * len(ratios)
    assigned: Dict[tuple, int] = {}
    for done, key in enumerate(order):
        composition = Counter(labels[i] for i in members[key])
        empty = [s for s in active if not filled[s]]
        # the last groups go to splits still empty, so every split gets one
        candidates = empty if len(order) - done <= len(empty) else active

        def gain(s: int) -> tuple:
            # minus the change of sum_c (count_c / total_c - ratio)^2 when adding
            value = sum(n * (2 * (ratios[s] * totals[c] - counts[s][c]) - n)
                        / totals[c] ** 2 for c, n in composition.items())
            return value, ratios[s], -s

        best = max(candidates, key=gain)
        counts[best].update(composition)
        filled[best] += 1
        assigned[key] = best
    return assigned, counts


__all__ = ['SPLITS', 'check_ratios', 'stratified_group_split']
