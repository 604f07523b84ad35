"""The verb-noun pair vocabulary (``pairs.json``) shared by every split.

A pair head classifies over these pairs; its index is the position in the
sorted list. Segments whose pair is not in the vocabulary keep their verb and
noun (for evaluation) but get no pair label.
"""
import json
from collections import Counter
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from ..utils.fileio import atomic_write
from ..utils.errors import AnnotationError

Pair = Tuple[int, int]


class PairVocabulary:
    """Sorted (verb, noun) pairs with their training counts."""

    def __init__(self, pairs: Sequence[Pair], counts: Optional[Sequence[int]] = None,
                 sources: Sequence[str] = ()) -> None:
        self.pairs: List[Pair] = [tuple(map(int, p)) for p in pairs]
        if self.pairs != sorted(set(self.pairs)):
            raise ValueError('pairs must be sorted and unique')
        self.counts = list(counts) if counts is not None else [0] * len(self.pairs)
        self.sources = list(sources)
        self._index: Dict[Pair, int] = {p: i for i, p in enumerate(self.pairs)}

    @classmethod
    def from_labels(cls, labels: Iterable[Pair], sources: Sequence[str] = ()):
        counter = Counter(tuple(map(int, p)) for p in labels)
        pairs = sorted(counter)
        return cls(pairs, [counter[p] for p in pairs], sources)

    def __len__(self) -> int:
        return len(self.pairs)

    def __contains__(self, pair: Pair) -> bool:
        return tuple(pair) in self._index

    def index(self, verb: int, noun: int) -> Optional[int]:
        """The pair's class id, or ``None`` when it is not in the vocabulary."""
        return self._index.get((verb, noun))

    def save(self, path: str) -> None:
        with atomic_write(path) as f:
            json.dump(dict(sources=self.sources, num_pairs=len(self),
                           pairs=[list(p) for p in self.pairs], counts=self.counts),
                      f, indent=0)

    @classmethod
    def load(cls, path: str) -> 'PairVocabulary':
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
            return cls(data['pairs'], data.get('counts'), data.get('sources', ()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise AnnotationError(
                f'cannot read pair vocabulary {path}: {e}. Build it with '
                'tools/build_annotations.py') from e
