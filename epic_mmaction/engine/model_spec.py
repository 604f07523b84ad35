"""What the tools learn from a config's model before running anything.

A checkpoint is checked against the weight shapes of the model the config
builds, and the lists against the class counts of its head, before the
runner reads a single video. The model is built on PyTorch's ``meta``
device: every parameter has its shape and no memory, so this costs a
fraction of a second even for a ResNet-50 (no weights are initialised or
loaded, ``pretrained`` backbones included).
"""
import copy
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch

__all__ = ['ModelSpec', 'head_class_counts', 'model_spec']


@dataclass(frozen=True)
class ModelSpec:
    """The weight shapes of a config's model and the classes its head predicts.

    ``num_classes`` is the size of what the loss indexes with ``label``:
    the pairs of a pair head, or the classes of a single-label head; None
    for an EPIC verb/noun head, whose labels are checked by ``num_verbs``
    and ``num_nouns``.
    """
    shapes: Dict[str, Tuple[int, ...]]
    num_verbs: Optional[int] = None
    num_nouns: Optional[int] = None
    num_classes: Optional[int] = None

    @property
    def class_counts(self) -> Dict[str, Optional[int]]:
        """The ``EpicSegmentVideoDataset`` arguments that check lists against the head."""
        return dict(num_verbs=self.num_verbs, num_nouns=self.num_nouns,
                    num_classes=self.num_classes)


def head_class_counts(model: torch.nn.Module) -> Dict[str, Optional[int]]:
    """``num_verbs``/``num_nouns``/``num_classes`` of the model's ``cls_head`` (None: unknown)."""
    head = getattr(model, 'cls_head', None)
    output = getattr(head, 'output', None)
    if output is not None and hasattr(output, 'num_verbs'):  # EpicActionHead
        pairs = getattr(output, 'num_pairs', None)
        return dict(num_verbs=int(output.num_verbs), num_nouns=int(output.num_nouns),
                    num_classes=None if pairs is None else int(pairs))
    classes = getattr(head, 'num_classes', None)  # MMAction2's single-label heads
    return dict(num_verbs=None, num_nouns=None,
                num_classes=int(classes) if isinstance(classes, int) and classes > 0 else None)


def _build(model_cfg: dict, device: str) -> torch.nn.Module:
    from mmaction.registry import MODELS
    with torch.device(device):
        return MODELS.build(copy.deepcopy(model_cfg))


def model_spec(cfg) -> ModelSpec:
    """Build ``cfg.model`` without memory and read its shapes and class counts.

    Needs the modules registered (``import epic_mmaction.plugin``). A model
    whose construction computes on its tensors (and so fails on ``meta``) is
    built on the CPU instead.
    """
    from mmengine.registry import init_default_scope
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    try:
        model = _build(cfg.model, 'meta')
    except (RuntimeError, NotImplementedError):
        model = _build(cfg.model, 'cpu')
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return ModelSpec(shapes, **head_class_counts(model))
