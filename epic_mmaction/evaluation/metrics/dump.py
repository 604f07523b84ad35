"""Metrics that write a results file instead of scoring (``tools/test.py --dump``).

The file formats live in :mod:`epic_mmaction.results` (torch-free, read by
export and analysis); these metrics only collect records during a test run.
"""
import os.path as osp
from typing import Any, Dict, List, Mapping, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmaction.registry import METRICS

from ...results import (clip_record_from_sample, record_from_sample, save_clip_results,
                        save_results)

__all__ = ['DumpResults', 'DumpEpicResults', 'DumpClipResults']


class DumpResults(BaseMetric):
    """Base of the metrics that write a results file in ``compute_metrics``.

    Subclasses reduce each sample to a record (:meth:`record`) and write the
    records (:meth:`save`); BaseMetric gathers them from every rank first.

    Args:
        out_file (str): The ``.npz`` file to write.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Unused (no metrics). Defaults to None.
    """

    def __init__(self, out_file: str, collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not str(out_file).endswith('.npz'):
            raise ValueError(f'out_file must be a .npz file, got {out_file}')
        self.out_file = out_file

    def record(self, sample: Mapping) -> Dict[str, Any]:
        raise NotImplementedError

    def save(self, records: List[dict]) -> str:
        """Write ``records`` to ``out_file``; return a summary for the log."""
        raise NotImplementedError

    def process(self, data_batch: Any, data_samples: Sequence[Mapping]) -> None:
        self.results.extend(self.record(s) for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        summary = self.save(results)
        print_log(f'wrote {summary} to {osp.abspath(self.out_file)}', logger='current')
        return {}

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(out_file={self.out_file!r}, '
                f'collect_device={self.collect_device!r})')


@METRICS.register_module()
class DumpEpicResults(DumpResults):
    """Write the per-narration results file of a test run (no metrics).

    Collects each sample like :class:`EpicActionMetric` (labelled or not) and
    writes ``out_file`` with :func:`save_results` in ``compute_metrics``, so
    ``tools/test.py --dump`` appends it to the test evaluator.

    Args:
        out_file (str): The ``.npz`` file to write.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Unused (no metrics). Defaults to None.
    """

    def record(self, sample: Mapping) -> Dict[str, Any]:
        return record_from_sample(sample)

    def save(self, records: List[dict]) -> str:
        written = save_results(self.out_file, records)
        return (f'{len(written)} segments ({written.labelled.sum()} labelled, '
                f'{written.num_verbs} verbs, {written.num_nouns} nouns)')


@METRICS.register_module()
class DumpClipResults(DumpResults):
    """Write the per-clip results file of a single-label test run (no metrics).

    Collects ``pred_score``, ``gt_label`` and the metainfo ``narration_id``/
    ``video_file`` of every sample (labelled or not) and writes ``out_file``
    with :func:`save_clip_results` in ``compute_metrics``, so
    ``tools/test.py --dump`` appends it to the test evaluator of
    ``label_mode='single'`` datasets.

    Args:
        out_file (str): The ``.npz`` file to write.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Unused (no metrics). Defaults to None.
    """

    def record(self, sample: Mapping) -> Dict[str, Any]:
        return clip_record_from_sample(sample)

    def save(self, records: List[dict]) -> str:
        written = save_clip_results(self.out_file, records)
        return (f'{len(written)} clips ({written.labelled.sum()} labelled, '
                f'{written.num_classes} classes)')

