"""Labels for analysis: a results file's own, completed from a ground-truth CSV.

Results of the validation split carry their labels; results dumped from an
unlabelled list (or by an older run) need them from ``EPIC_100_validation.csv``.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..annotations.records import read_narrations
from ..utils import UsageError
from ..results.epic_results import UNLABELLED, EpicResults

__all__ = ['ResolvedLabels', 'resolve_labels']


@dataclass(frozen=True)
class ResolvedLabels:
    """Per-segment labels (``-1`` = unlabelled) and where they came from."""
    verb: np.ndarray
    noun: np.ndarray
    from_results: int  # segments labelled by the results file
    from_gt: int  # segments labelled by the ground-truth CSV
    disagree: int  # segments whose results label differs from the CSV's (results kept)

    @property
    def labelled(self) -> np.ndarray:
        return (self.verb != UNLABELLED) & (self.noun != UNLABELLED)


def resolve_labels(results: EpicResults, gt_csv: Optional[str] = None) -> ResolvedLabels:
    """The results' labels, with unlabelled segments filled from ``gt_csv``.

    Raises ``ValueError`` if ``gt_csv`` shares no narration with the results
    (the wrong split) or has labels outside the results' classes, and
    ``AnnotationError`` if it cannot be read.
    """
    verb = results.verb_label.astype(np.int64).copy()
    noun = results.noun_label.astype(np.int64).copy()
    own = (verb != UNLABELLED) & (noun != UNLABELLED)
    from_gt = disagree = 0
    if gt_csv is not None:
        gt = {r.narration_id: (r.verb_class, r.noun_class)
              for r in read_narrations(gt_csv) if r.labelled}
        rows = [(i, gt[nid]) for i, nid in enumerate(results.narration_id.tolist())
                if nid in gt]
        if not rows:
            raise UsageError(f'{gt_csv}: none of its labelled narrations is among the '
                             f'{len(results)} of the results (e.g. '
                             f'{results.narration_id[:3].tolist()}): wrong split?')
        for i, (v, n) in rows:
            if not (0 <= v < results.num_verbs and 0 <= n < results.num_nouns):
                raise UsageError(
                    f'{gt_csv}: {results.narration_id[i]} has verb {v}, noun {n}; the '
                    f'results have {results.num_verbs} verbs and {results.num_nouns} nouns')
            if own[i]:
                disagree += int((verb[i], noun[i]) != (v, n))
            else:
                verb[i], noun[i] = v, n
                from_gt += 1
    return ResolvedLabels(verb=verb, noun=noun, from_results=int(own.sum()),
                          from_gt=from_gt, disagree=disagree)
