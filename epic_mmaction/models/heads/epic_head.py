"""One head for every EPIC model: pooling -> (LSTM) -> verb/noun or pair classifier."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn as nn
from mmengine.model.weight_init import normal_init

from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from mmaction.utils import SampleList

from .outputs import OUTPUTS, PairOutput, sample_labels
from .temporal import build_temporal, spatial_pool, temporal_out_channels


@MODELS.register_module()
class EpicActionHead(BaseHead):
    """Verb/noun or verb-noun pair classification head, for 2D and 3D backbones.

    Predictions always carry ``verb_score`` and ``noun_score`` (probabilities,
    averaged over a sample's test clips and crops), whatever ``output`` is.

    Args:
        in_channels (int): Backbone channels (SlowFast: slow + fast).
        output (str): ``'verb_noun'`` (two classifiers, loss is the weighted
            sum of both cross-entropies) or ``'pair'`` (one classifier over
            ``pairs_file``; verb/noun scores by marginalising). Defaults to
            ``'verb_noun'``.
        num_verbs (int): Defaults to 97 (EPIC-100).
        num_nouns (int): Defaults to 300.
        pairs_file (str, optional): ``pairs.json``; needed for ``'pair'``.
        verb_weight (float): Weight of the verb loss. Defaults to 1.
        noun_weight (float): Weight of the noun loss. Defaults to 1.
        temporal (dict, optional): For 2D backbones, how frame features make
            a clip: ``dict(type='avg', num_segments=8)`` or ``dict(type='lstm',
            num_segments=8, hidden_size=512, num_layers=2, bidirectional=True,
            dropout=0.2, pooling='mean')``. None (3D backbones): space-time
            average. Defaults to None.
        mid_channels (int, optional): A hidden layer before the classifiers
            (X3D's 2048-d projection). Defaults to None.
        dropout_ratio (float): Dropout before the classifiers. Defaults to 0.5.
        label_smooth_eps (float): Label smoothing. Defaults to 0.
        average_clips (str): ``'prob'`` (mean of softmaxes) or ``'score'``
            (softmax of mean logits) over test views. Defaults to ``'prob'``.
        init_std (float): Std of the classifier init. Defaults to 0.01.
    """

    def __init__(self,
                 in_channels: int,
                 output: str = 'verb_noun',
                 num_verbs: int = 97,
                 num_nouns: int = 300,
                 pairs_file: Optional[str] = None,
                 verb_weight: float = 1.0,
                 noun_weight: float = 1.0,
                 temporal: Optional[dict] = None,
                 mid_channels: Optional[int] = None,
                 dropout_ratio: float = 0.5,
                 label_smooth_eps: float = 0.0,
                 average_clips: str = 'prob',
                 init_std: float = 0.01,
                 **kwargs) -> None:
        if output not in OUTPUTS:
            raise ValueError(f'output must be one of {list(OUTPUTS)}, got {output!r}')
        if average_clips not in ('prob', 'score'):
            raise ValueError(f"average_clips must be 'prob' or 'score', got {average_clips!r}")
        if output == 'pair' and not pairs_file:
            raise ValueError("output='pair' needs pairs_file (data_lists/pairs.json)")
        super().__init__(num_classes=num_verbs + num_nouns, in_channels=in_channels,
                         label_smooth_eps=label_smooth_eps,
                         average_clips=average_clips, **kwargs)
        self.init_std = init_std
        self.temporal = build_temporal(temporal, in_channels)
        channels = temporal_out_channels(self.temporal, in_channels)
        self.mid = nn.Identity()
        if mid_channels:
            self.mid = nn.Sequential(nn.Linear(channels, mid_channels), nn.ReLU(inplace=True))
            channels = mid_channels
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        if output == 'pair':
            self.output = PairOutput(channels, pairs_file, num_verbs, num_nouns)
        else:
            self.output = OUTPUTS[output](channels, num_verbs, num_nouns,
                                          verb_weight, noun_weight)

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                normal_init(m, std=self.init_std)

    def forward(self, x: Union[torch.Tensor, tuple], **kwargs) -> List[torch.Tensor]:
        feat = self.temporal(spatial_pool(x))
        return self.output(self.dropout(self.mid(feat)))

    def loss_by_feat(self, logits: List[torch.Tensor],
                     data_samples: SampleList) -> Dict[str, torch.Tensor]:
        verbs, nouns = sample_labels(data_samples, logits[0].device)
        if logits[0].shape[0] != len(data_samples):
            raise ValueError(f'{logits[0].shape[0]} clips for {len(data_samples)} '
                             'samples: train with one clip per sample')
        return self.output.loss(logits, verbs, nouns, self.label_smooth_eps)

    def _average(self, logits: torch.Tensor, num_views: int) -> torch.Tensor:
        logits = logits.float().view(-1, num_views, logits.shape[-1])
        if self.average_clips == 'prob':
            return logits.softmax(-1).mean(1)
        return logits.mean(1).softmax(-1)

    def predict_by_feat(self, logits: List[torch.Tensor],
                        data_samples: SampleList) -> SampleList:
        num_views = logits[0].shape[0] // len(data_samples)
        probs = [self._average(t, num_views) for t in logits]
        verb_scores, noun_scores = self.output.probabilities(probs)
        for sample, verb, noun in zip(data_samples, verb_scores, noun_scores):
            sample.set_field(verb.detach(), 'verb_score')
            sample.set_field(noun.detach(), 'noun_score')
        return data_samples
