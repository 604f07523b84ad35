"""Random results over given narration ids, for the export and evaluation tests."""
import csv
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


HEADER = ['narration_id', 'participant_id', 'video_id', 'narration_timestamp',
          'start_timestamp', 'stop_timestamp', 'start_frame', 'stop_frame', 'narration',
          'verb', 'verb_class', 'noun', 'noun_class', 'all_nouns', 'all_noun_classes']


def write_gt(path, ids, verbs, nouns):
    """A labelled narration CSV (as ``EPIC_100_validation.csv``) of ``ids``."""
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for nid, v, n in zip(ids, verbs, nouns):
            video = nid.rsplit('_', 1)[0]
            writer.writerow([nid, nid.split('_')[0], video, '00:00:01.000', '00:00:01.00',
                             '00:00:02.00', 60, 120, 'x', 'x', v, 'y', n, "['y']", f'[{n}]'])
    return str(path)
