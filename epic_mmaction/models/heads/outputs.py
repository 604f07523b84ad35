"""What an EPIC head predicts: verb and noun classes, or verb-noun pairs.

Both output types turn a pooled feature into logits, compute their loss from
the samples' ``verb_label``/``noun_label`` (``-1`` = no label, ignored), and
turn clip-averaged logits into verb and noun *probabilities*, so every tool
downstream sees the same two score vectors whichever head was trained.
"""
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ...annotations.listfile import UNLABELLED
from ...annotations.pairs import PairVocabulary


def sample_labels(data_samples: Sequence, device) -> tuple:
    """(verb, noun) label tensors from the samples' metainfo."""
    try:
        verbs = [int(s.metainfo['verb_label']) for s in data_samples]
        nouns = [int(s.metainfo['noun_label']) for s in data_samples]
    except KeyError as e:
        raise KeyError(
            f"data samples lack {e}: add 'verb_label' and 'noun_label' to "
            'PackActionInputs(meta_keys=...) in the pipeline') from None
    return (torch.tensor(verbs, dtype=torch.long, device=device),
            torch.tensor(nouns, dtype=torch.long, device=device))


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    keep = labels != UNLABELLED
    if not keep.any():
        return logits.new_tensor(0.0)
    return (logits[keep].argmax(-1) == labels[keep]).float().mean().detach()


def _ce(logits: torch.Tensor, labels: torch.Tensor, smooth: float) -> torch.Tensor:
    if not (labels != UNLABELLED).any():  # keep the graph: zero loss, zero grads
        return logits.sum() * 0.0
    return F.cross_entropy(logits, labels, ignore_index=UNLABELLED, label_smoothing=smooth)


class VerbNounOutput(nn.Module):
    """Two classifiers on one feature; loss = w_v * CE(verb) + w_n * CE(noun)."""

    def __init__(self, in_channels: int, num_verbs: int = 97, num_nouns: int = 300,
                 verb_weight: float = 1.0, noun_weight: float = 1.0) -> None:
        super().__init__()
        self.num_verbs, self.num_nouns = num_verbs, num_nouns
        self.verb_weight, self.noun_weight = verb_weight, noun_weight
        self.fc_verb = nn.Linear(in_channels, num_verbs)
        self.fc_noun = nn.Linear(in_channels, num_nouns)

    def forward(self, feat: torch.Tensor) -> List[torch.Tensor]:
        return [self.fc_verb(feat), self.fc_noun(feat)]

    def loss(self, logits: List[torch.Tensor], verbs: torch.Tensor,
             nouns: torch.Tensor, smooth: float) -> Dict[str, torch.Tensor]:
        verb_logits, noun_logits = logits
        return dict(
            verb_loss_cls=self.verb_weight * _ce(verb_logits, verbs, smooth),
            noun_loss_cls=self.noun_weight * _ce(noun_logits, nouns, smooth),
            verb_acc=_accuracy(verb_logits, verbs),
            noun_acc=_accuracy(noun_logits, nouns))

    def probabilities(self, probs: List[torch.Tensor]) -> tuple:
        """Clip-averaged per-output probabilities -> (verb, noun)."""
        return probs[0], probs[1]


class PairOutput(nn.Module):
    """One classifier over the pair vocabulary; verb/noun by marginalising.

    ``P(verb=v) = sum_n P(pair=(v, n))``: verbs or nouns that occur in no pair
    get probability 0. Samples whose pair is not in the vocabulary are
    ignored by the loss.
    """

    def __init__(self, in_channels: int, pairs_file: str, num_verbs: int = 97,
                 num_nouns: int = 300) -> None:
        super().__init__()
        vocab = PairVocabulary.load(pairs_file)
        self.pairs_file = pairs_file
        self.num_verbs, self.num_nouns = num_verbs, num_nouns
        self.num_pairs = len(vocab)
        pairs = torch.tensor(vocab.pairs, dtype=torch.long)
        if pairs[:, 0].max() >= num_verbs or pairs[:, 1].max() >= num_nouns:
            raise ValueError(f'{pairs_file} has classes beyond num_verbs={num_verbs} '
                             f'/ num_nouns={num_nouns}')
        lookup = torch.full((num_verbs, num_nouns), UNLABELLED, dtype=torch.long)
        lookup[pairs[:, 0], pairs[:, 1]] = torch.arange(len(pairs))
        self.register_buffer('pair_index', lookup, persistent=False)
        self.register_buffer('to_verb', F.one_hot(pairs[:, 0], num_verbs).float(),
                             persistent=False)
        self.register_buffer('to_noun', F.one_hot(pairs[:, 1], num_nouns).float(),
                             persistent=False)
        self.fc_pair = nn.Linear(in_channels, self.num_pairs)

    def forward(self, feat: torch.Tensor) -> List[torch.Tensor]:
        return [self.fc_pair(feat)]

    def pair_labels(self, verbs: torch.Tensor, nouns: torch.Tensor) -> torch.Tensor:
        known = (verbs != UNLABELLED) & (nouns != UNLABELLED)
        labels = torch.full_like(verbs, UNLABELLED)
        labels[known] = self.pair_index[verbs[known], nouns[known]]
        return labels

    def loss(self, logits: List[torch.Tensor], verbs: torch.Tensor,
             nouns: torch.Tensor, smooth: float) -> Dict[str, torch.Tensor]:
        pair_logits = logits[0]
        labels = self.pair_labels(verbs, nouns)
        with torch.no_grad():
            verb_p, noun_p = self.probabilities([pair_logits.float().softmax(-1)])
        return dict(loss_cls=_ce(pair_logits, labels, smooth),
                    pair_acc=_accuracy(pair_logits, labels),
                    verb_acc=_accuracy(verb_p, verbs),
                    noun_acc=_accuracy(noun_p, nouns))

    def probabilities(self, probs: List[torch.Tensor]) -> tuple:
        pair_probs = probs[0].float()
        return pair_probs @ self.to_verb, pair_probs @ self.to_noun


OUTPUTS = dict(verb_noun=VerbNounOutput, pair=PairOutput)
