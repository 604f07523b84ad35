"""MMAction2's accuracy over the labelled clips of a list only.

A whole-video test list may be unlabelled (HRI30's test folder: class -1).
``AccMetric`` would count -1 as a class that is never predicted and report
0 %, a number that looks like a result; this subclass skips unlabelled clips,
says how many, and reports nothing when none is labelled, so
``tools/test.py --dump`` on such a list gives predictions, not a fake score.
"""
from typing import Any, Dict, List, Sequence

from mmengine.logging import print_log

from mmaction.evaluation import AccMetric
from mmaction.registry import METRICS


def _label(sample: dict) -> int:
    label = sample['gt_label']
    return int(label.reshape(-1)[0]) if label.numel() == 1 else 0


@METRICS.register_module()
class LabelledAccMetric(AccMetric):
    """``AccMetric`` (same arguments and keys) ignoring clips labelled -1."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.skipped = 0

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        labelled = [s for s in data_samples if _label(s) >= 0]
        self.skipped += len(data_samples) - len(labelled)
        if labelled:
            super().process(data_batch, labelled)

    def compute_metrics(self, results: List) -> Dict[str, float]:
        skipped, self.skipped = self.skipped, 0
        if skipped:
            print_log(f'{type(self).__name__}: skipped {skipped} unlabelled clips '
                      f'(label -1), scored {len(results)}', logger='current')
        if not results:
            print_log(f'{type(self).__name__}: no labelled clips, no accuracy (an '
                      'unlabelled test list: use tools/test.py --dump for its '
                      'predictions)', logger='current')
            return {}
        return super().compute_metrics(results)
