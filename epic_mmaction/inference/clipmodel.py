"""A recognizer in test mode as a plain module: clip tensor -> verb/noun probabilities.

What ONNX export traces and feature extraction runs. It takes one view per
clip, as uint8 or float pixels in the pipeline's layout (``[B, C, T, H, W]``
for 3D backbones, ``[B, T, C, H, W]`` for 2D ones), normalises it with the
model's own ``data_preprocessor`` (mean/std, ``to_rgb``), and runs the same
modules as ``test_step``: backbone -> the head's pooling and temporal model ->
classifier(s) -> softmax. The pair head returns the marginalised verb and
noun probabilities. :meth:`ClipModel.features` stops before the head's
classifier: the backbone's output pooled over space and time (2D backbones:
averaged over frames), or for an LSTM head the LSTM's output (pooled as the
head pools it) -- what RULSTM-style and detection models take as input.
"""
from typing import Tuple

import torch
import torch.nn as nn

from .clips import InferenceError

__all__ = ['ClipModel', 'feature_layer']


def feature_layer(head: nn.Module) -> str:
    """Which layer :meth:`ClipModel.features` returns, in words (for docs and index.json)."""
    temporal = type(getattr(head, 'temporal', None)).__name__
    if temporal == 'LSTMTemporal':
        return 'head LSTM output (pooled over time as the head pools it)'
    if temporal == 'AvgTemporal':
        return 'backbone output, pooled over space, averaged over frames'
    return 'backbone output, pooled over space and time'


class ClipModel(nn.Module):
    """``clip [B, ...] -> (verb [B, V], noun [B, N])`` probabilities; see the module doc."""

    def __init__(self, recognizer: nn.Module) -> None:
        super().__init__()
        from ..models.heads.temporal import spatial_pool
        head = getattr(recognizer, 'cls_head', None)
        if head is None or not hasattr(getattr(head, 'output', None), 'probabilities'):
            raise InferenceError('the model has no EpicActionHead (cls_head with verb and '
                                 'noun outputs)')
        if getattr(recognizer, 'with_neck', False):
            raise InferenceError('models with a neck are not supported by the clip model')
        pre = recognizer.data_preprocessor
        self.format_shape = getattr(pre, 'format_shape', 'NCTHW')
        if self.format_shape not in ('NCHW', 'NCTHW'):
            raise InferenceError(f'data_preprocessor format_shape {self.format_shape!r}: '
                                 "only 'NCHW' (2D) and 'NCTHW' (3D) models are supported")
        self.backbone, self.head = recognizer.backbone, head
        self._pool = spatial_pool
        normalize = getattr(pre, '_enable_normalize', False)
        shape = (-1, 1, 1) if self.format_shape == 'NCHW' else (-1, 1, 1, 1)
        self.register_buffer('mean', (pre.mean if normalize else torch.zeros(3)).view(shape)
                             .clone().float(), persistent=False)
        self.register_buffer('std', (pre.std if normalize else torch.ones(3)).view(shape)
                             .clone().float(), persistent=False)
        self.to_rgb = bool(getattr(pre, 'to_rgb', False))
        self.num_verbs = int(head.output.num_verbs)
        self.num_nouns = int(head.output.num_nouns)
        self.feature_layer = feature_layer(head)
        self.eval()

    @property
    def channel_dim(self) -> int:
        """Channels' dimension in a batch of clips."""
        return 1 if self.format_shape == 'NCTHW' else 2

    def clips_from_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """``PackActionInputs``' tensor of one sample -> its views ``[V, ...]``.

        3D: ``[V, C, T, H, W]`` as is; 2D: ``[V * T, C, H, W]`` -> ``[V, T, C, H, W]``
        with ``T`` the head's ``num_segments``.
        """
        if self.format_shape == 'NCTHW':
            return inputs
        groups = getattr(getattr(self.head, 'temporal', None), 'groups', None)
        num_segments = groups.num_segments if groups is not None else inputs.shape[0]
        return inputs.reshape(-1, num_segments, *inputs.shape[1:])

    def normalize(self, clip: torch.Tensor) -> torch.Tensor:
        x = clip.float()
        if self.to_rgb:
            x = x.flip(self.channel_dim)
        return (x - self.mean) / self.std

    def features(self, clip: torch.Tensor) -> torch.Tensor:
        """``[B, D]``: the layer before the head's classifier (see the module doc)."""
        x = self.normalize(clip)
        if self.format_shape == 'NCHW':
            x = x.flatten(0, 1)  # [B * T, C, H, W], as Recognizer2D feeds the backbone
        return self.head.temporal(self._pool(self.backbone(x)))

    def forward(self, clip: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        feat = self.features(clip)
        logits = self.head.output(self.head.mid(feat))  # dropout: identity in test mode
        verb, noun = self.head.output.probabilities([t.float().softmax(-1) for t in logits])
        return verb, noun
