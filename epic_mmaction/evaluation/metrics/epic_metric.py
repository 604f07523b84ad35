"""The EPIC-KITCHENS-100 action recognition metric for MMAction2 evaluators."""
from typing import Any, Dict, List, Mapping, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmaction.registry import METRICS

from ..functional import (ACTION_TOP_N, compute_epic_metrics, epic_subsets, read_tail_nouns,
                          read_tail_verbs, read_unseen_participants, summary_table)
from ...results.epic_results import UNLABELLED, record_from_sample, stack_records

WARNING = 30


@METRICS.register_module()
class EpicActionMetric(BaseMetric):
    """Verb, noun and action accuracy as on the EPIC-KITCHENS-100 leaderboard.

    Reads ``verb_score``/``noun_score`` (probabilities) and the metainfo
    ``narration_id``, ``participant_id``, ``verb_label``, ``noun_label`` of
    each sample; segments with a label of ``-1`` (unlabelled, e.g. the test
    split) are skipped and counted in a warning. The numbers are those of
    :func:`~epic_mmaction.evaluation.functional.compute_epic_metrics`, in
    percent, under ``epic/`` (e.g. ``epic/action_top1``):
    ``{verb,noun,action}_top{k}``, ``{verb,noun}_mean_class_acc``, and, when
    their files are given, ``tail_{verb,noun,action}_top1`` and
    ``unseen_{verb,noun,action}_top1``.

    Args:
        tail_verbs_file (str, optional): ``EPIC_100_tail_verbs.csv``.
        tail_nouns_file (str, optional): ``EPIC_100_tail_nouns.csv``.
        unseen_participants_file (str, optional):
            ``EPIC_100_unseen_participant_ids_{validation,test}.csv`` (the one
            of the split evaluated).
        topk (Sequence[int]): k of the overall top-k accuracies, at most 100.
            Defaults to ``(1, 5)``.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix of the metric names. Defaults to None
            (``'epic'``).
    """
    default_prefix: Optional[str] = 'epic'

    def __init__(self,
                 tail_verbs_file: Optional[str] = None,
                 tail_nouns_file: Optional[str] = None,
                 unseen_participants_file: Optional[str] = None,
                 topk: Sequence[int] = (1, 5),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(not isinstance(k, int) or not 1 <= k <= ACTION_TOP_N
                           for k in topk):
            raise ValueError(f'topk must be integers in [1, {ACTION_TOP_N}], got {topk}')
        self.topk = topk
        self.tail_verbs_file = tail_verbs_file
        self.tail_nouns_file = tail_nouns_file
        self.unseen_participants_file = unseen_participants_file
        # read now: a wrong path fails when the runner is built, not after an epoch
        self.tail_verbs = read_tail_verbs(tail_verbs_file) if tail_verbs_file else None
        self.tail_nouns = read_tail_nouns(tail_nouns_file) if tail_nouns_file else None
        self.unseen_participants = (read_unseen_participants(unseen_participants_file)
                                    if unseen_participants_file else None)

    def process(self, data_batch: Any, data_samples: Sequence[Mapping]) -> None:
        """Keep a small CPU record of each sample (scores as numpy arrays)."""
        self.results.extend(record_from_sample(s) for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            print_log('EpicActionMetric: no segments to evaluate', logger='current',
                      level=WARNING)
            return {}
        arrays = stack_records(results)
        labelled = ((arrays['verb_label'] != UNLABELLED)
                    & (arrays['noun_label'] != UNLABELLED))
        skipped = int((~labelled).sum())
        if skipped:
            print_log(f'EpicActionMetric: skipped {skipped} of {len(labelled)} segments '
                      'without a verb or noun label (-1)', logger='current',
                      level=WARNING)
        if not labelled.any():
            print_log('EpicActionMetric: no labelled segments, no metrics (is this '
                      'the test split?)', logger='current', level=WARNING)
            return {}
        arrays = {key: value[labelled] for key, value in arrays.items()}
        kwargs = dict(participant_ids=arrays['participant_id'],
                      tail_verbs=self.tail_verbs, tail_nouns=self.tail_nouns,
                      unseen_participants=self.unseen_participants)
        metrics = compute_epic_metrics(arrays['verb_score'], arrays['noun_score'],
                                       arrays['verb_label'], arrays['noun_label'],
                                       topk=self.topk, **kwargs)
        masks = epic_subsets(arrays['verb_label'], arrays['noun_label'], **kwargs)
        empty = [name for name, mask in masks.items() if not mask.any()]
        if empty:
            print_log(f'EpicActionMetric: no {", ".join(empty)} segments among '
                      f'{len(labelled) - skipped}: their metrics are left out',
                      logger='current', level=WARNING)
        sizes = ', '.join(f'{name} {int(mask.sum())}' for name, mask in masks.items())
        print_log(f'EPIC-KITCHENS-100 action recognition, {len(labelled) - skipped} '
                  f'segments{" (" + sizes + ")" if sizes else ""}:\n'
                  f'{summary_table(metrics)}', logger='current')
        return metrics

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tail_verbs_file={self.tail_verbs_file!r}, '
                f'tail_nouns_file={self.tail_nouns_file!r}, '
                f'unseen_participants_file={self.unseen_participants_file!r}, '
                f'topk={self.topk}, collect_device={self.collect_device!r}, '
                f'prefix={self.prefix!r})')
