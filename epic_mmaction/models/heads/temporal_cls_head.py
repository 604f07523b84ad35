"""A standard single-label classification head over per-frame features + LSTM.

The ResNet50+LSTM recipe trains whole-video datasets
(UCF50, HRI30) with one label per clip; MMAction2 has no LSTM head, and the
EPIC head predicts verbs and nouns. This head reuses the EPIC head's temporal
modules (:mod:`.temporal`) but is otherwise MMAction2's ``BaseHead``: its
loss, label smoothing, ``top1_acc`` and ``pred_score`` are the stock ones,
so ``AccMetric`` and every MMAction2 tool read its predictions.
"""
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.model.weight_init import normal_init

from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS

from .temporal import build_temporal, spatial_pool, temporal_out_channels


@MODELS.register_module()
class TemporalClsHead(BaseHead):
    """Frames -> (LSTM or average) -> dropout -> one classifier.

    Args:
        num_classes (int): Classes.
        in_channels (int): Backbone channels per frame.
        temporal (dict, optional): ``dict(type='lstm', num_segments=8,
            hidden_size=512, num_layers=2, bidirectional=True, dropout=0.2,
            pooling='mean')`` or ``dict(type='avg', num_segments=8)``; None
            (3D backbones): space-time average. Defaults to None.
        dropout_ratio (float): Defaults to 0.5.
        init_std (float): Std of the classifier init. Defaults to 0.01.
        **kwargs: ``BaseHead``'s (``loss_cls``, ``label_smooth_eps``,
            ``average_clips``, ...).
    """

    def __init__(self, num_classes: int, in_channels: int,
                 temporal: Optional[dict] = None, dropout_ratio: float = 0.5,
                 init_std: float = 0.01, **kwargs) -> None:
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        self.init_std = init_std
        self.temporal = build_temporal(temporal, in_channels)
        channels = temporal_out_channels(self.temporal, in_channels)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.fc_cls = nn.Linear(channels, num_classes)

    def init_weights(self) -> None:
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: Union[torch.Tensor, tuple], **kwargs) -> torch.Tensor:
        return self.fc_cls(self.dropout(self.temporal(spatial_pool(x))))
