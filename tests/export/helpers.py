"""Random results over given narration ids, for the export and evaluation tests."""
from typing import Optional, Sequence

import numpy as np

from epic_mmaction.results import EpicResults


def random_results(ids: Sequence[str], num_verbs: int = 97, num_nouns: int = 300,
                   seed: int = 0, verb_label: Optional[np.ndarray] = None,
                   noun_label: Optional[np.ndarray] = None) -> EpicResults:
    """Dirichlet float32 probabilities (as the heads give), unlabelled by default."""
    rng = np.random.default_rng(seed)
    ids = np.asarray(ids, dtype=str)
    n = len(ids)
    return EpicResults(
        narration_id=ids,
        participant_id=np.array([nid.split('_')[0] for nid in ids.tolist()], dtype=str),
        verb_score=rng.dirichlet(np.ones(num_verbs), n).astype(np.float32),
        noun_score=rng.dirichlet(np.ones(num_nouns), n).astype(np.float32),
        verb_label=np.full(n, -1, np.int64) if verb_label is None else verb_label,
        noun_label=np.full(n, -1, np.int64) if noun_label is None else noun_label)


def subset(results: EpicResults, index) -> EpicResults:
    """Rows ``index`` (a slice, mask or index array) of ``results``."""
    return EpicResults(**{key: getattr(results, key)[index]
                          for key in ('narration_id', 'participant_id', 'verb_score',
                                      'noun_score', 'verb_label', 'noun_label')})
