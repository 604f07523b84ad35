"""Validation loss of single-label runs, for early stopping and the curves.

MMAction2's validation computes no loss, yet "stop when validation loss stops
falling" is the usual early-stopping rule on small datasets (UCF50, HRI30),
where accuracy saturates early and moves in coarse steps. This metric is the
cross-entropy of the clip-averaged probabilities the head predicts
(``pred_score``), so it needs no second forward pass; with several test views
it is the loss of their mean, not the mean of their losses.
"""
import math
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from mmaction.registry import METRICS

EPS = 1e-12  # a probability of 0 counts as -log(1e-12) = 27.6, not infinity


@METRICS.register_module()
class ClassificationLossMetric(BaseMetric):
    """Mean negative log-likelihood of the ground-truth class: ``val/loss``.

    Unlabelled samples (label -1) are skipped. Use with
    ``EarlyStoppingHook(monitor='val/loss')``.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to ``'val'``.
    """

    default_prefix: Optional[str] = 'val'

    def __init__(self, collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            label = sample['gt_label']
            label = int(label.item() if hasattr(label, 'item') else np.asarray(label).item())
            if label < 0:
                continue
            score = sample['pred_score']
            prob = float(score[label])
            self.results.append(-math.log(max(prob, EPS)))

    def compute_metrics(self, results: List[float]) -> Dict[str, float]:
        if not results:
            return {}
        return {'loss': float(np.mean(results))}
