"""Pooling backbone features to one vector per clip.

3D backbones give ``[N, C, T, H, W]`` (SlowFast: a tuple of two), pooled over
space-time. 2D backbones give per-frame ``[N * T, C, H, W]``; frames are
grouped into clips of ``num_segments`` and either averaged (TSN/TSM
consensus) or run through a bidirectional LSTM.
"""
from typing import Sequence, Union

import torch
import torch.nn as nn

Feats = Union[torch.Tensor, Sequence[torch.Tensor]]


def spatial_pool(x: Feats) -> torch.Tensor:
    """Average over every dimension after channels; tuples are concatenated."""
    if isinstance(x, (tuple, list)):
        return torch.cat([spatial_pool(t) for t in x], dim=1)
    return x.flatten(2).mean(-1) if x.dim() > 2 else x


class FrameGroups(nn.Module):
    """Per-frame features ``[N*T, C]`` -> clips ``[N, T, C]``."""

    def __init__(self, num_segments: int) -> None:
        super().__init__()
        if num_segments < 1:
            raise ValueError(f'num_segments must be >= 1, got {num_segments}')
        self.num_segments = num_segments

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        if feat.shape[0] % self.num_segments:
            raise ValueError(f'{feat.shape[0]} frame features do not split into '
                             f'clips of num_segments={self.num_segments}')
        return feat.view(-1, self.num_segments, feat.shape[-1])


class AvgTemporal(nn.Module):
    """Average consensus over the frames of a clip (TSN/TSM)."""

    def __init__(self, in_channels: int, num_segments: int) -> None:
        super().__init__()
        self.groups = FrameGroups(num_segments)
        self.out_channels = in_channels

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.groups(feat).mean(1)


class LSTMTemporal(nn.Module):
    """Per-frame features -> (bi)LSTM -> pooled over time (mean or last step)."""

    def __init__(self, in_channels: int, num_segments: int, hidden_size: int = 512,
                 num_layers: int = 2, bidirectional: bool = True,
                 dropout: float = 0.2, pooling: str = 'mean') -> None:
        super().__init__()
        if pooling not in ('mean', 'last'):
            raise ValueError(f"pooling must be 'mean' or 'last', got {pooling!r}")
        self.groups = FrameGroups(num_segments)
        self.lstm = nn.LSTM(in_channels, hidden_size, num_layers=num_layers,
                            batch_first=True, bidirectional=bidirectional,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.pooling = pooling
        self.out_channels = hidden_size * (2 if bidirectional else 1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.groups(feat))
        return out.mean(1) if self.pooling == 'mean' else out[:, -1]


def build_temporal(cfg, in_channels: int) -> nn.Module:
    """``None`` (3D features), ``dict(type='avg'|'lstm', num_segments=T, ...)``."""
    if cfg is None:
        return nn.Identity()
    cfg = dict(cfg)
    kind = cfg.pop('type')
    if kind == 'avg':
        return AvgTemporal(in_channels, **cfg)
    if kind == 'lstm':
        return LSTMTemporal(in_channels, **cfg)
    raise ValueError(f"temporal type must be 'avg' or 'lstm', got {kind!r}")


def temporal_out_channels(module: nn.Module, in_channels: int) -> int:
    return getattr(module, 'out_channels', in_channels)


