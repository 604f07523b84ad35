"""EPIC-KITCHENS segments of full-length videos as an MMAction2 dataset."""
import os.path as osp
from typing import Callable, List, Optional, Union

import numpy as np
from mmengine.logging import print_log

from mmaction.datasets import BaseActionDataset
from mmaction.registry import DATASETS

from ..annotations.listfile import (UNLABELLED, ListFormatError, Segment, check_list,
                                    read_numbered_list)
from ..annotations.pairs import PairVocabulary
from ..video import VideoReadError

LABEL_MODES = ('pair', 'verb_noun', 'verb', 'noun', 'single')
WHOLE_VIDEO_LOADERS = ('DecordInit', 'PyAVInit', 'OpenCVInit')


@DATASETS.register_module()
class EpicSegmentVideoDataset(BaseActionDataset):
    """Segments from a list file built by ``tools/build_annotations.py``.

    Each sample carries ``filename``, ``segment_start``/``segment_stop``,
    ``verb_label``/``noun_label`` (``-1`` if unlabelled), ``narration_id``,
    ``participant_id`` and ``label``, whose meaning depends on ``label_mode``:

    - ``'pair'``: index into ``pairs_file``; ``-1`` (ignored by the loss) for
      pairs outside the vocabulary, which keep their verb and noun for
      evaluation.
    - ``'verb_noun'``: ``[verb, noun]``.
    - ``'verb'`` / ``'noun'``: that class.
    - ``'single'``: single-label lists (whole-video datasets, see
      :mod:`~epic_mmaction.annotations.listfile`): the class column, for
      MMAction2's standard heads and ``AccMetric``. A row with a noun class
      is an error (an EPIC list given by mistake).

    Samples also carry ``video_file``, the video path as the list gives it.
    A segment with ``stop`` -1 runs to the video's last frame, which
    ``SegmentVideoInit`` reads from the video.

    A clip that fails to decode in training is logged with its video and
    another sample is drawn (``max_refetch``); in test mode it is an error.

    The list is checked when the dataset is built, before any training or
    testing: an empty list, a narration id on two rows, and (when the class
    counts are given) a class the model cannot predict are errors naming the
    list and line. ``tools/train.py`` and ``tools/test.py`` fill the class
    counts from the config's head; otherwise a wrong class ends in an
    ``IndexError`` (a device-side assert on a GPU) in the loss.

    Args:
        ann_file (str): The list file.
        pipeline (list): Transforms; load with ``SegmentVideoInit``.
        data_prefix (dict): ``dict(video=ROOT)``, the videos' data root.
            Defaults to ``dict(video='')``.
        label_mode (str): One of ``LABEL_MODES``. Defaults to ``'pair'``.
        pairs_file (str, optional): ``pairs.json``; needed for ``'pair'``.
        test_mode (bool): Defaults to False.
        num_verbs (int, optional): Verb classes of the model's head; rows with
            a verb at or above it are refused. Defaults to None (unchecked).
        num_nouns (int, optional): As ``num_verbs``, for nouns.
        num_classes (int, optional): Classes of ``label``, what the loss
            indexes: pairs (``'pair'``), or the class (``'verb'``, ``'noun'``,
            ``'single'``). Defaults to None (unchecked).
    """

    def __init__(self,
                 ann_file: str,
                 pipeline: List[Union[dict, Callable]],
                 data_prefix: dict = dict(video=''),
                 label_mode: str = 'pair',
                 pairs_file: Optional[str] = None,
                 test_mode: bool = False,
                 num_verbs: Optional[int] = None,
                 num_nouns: Optional[int] = None,
                 num_classes: Optional[int] = None,
                 **kwargs) -> None:
        if label_mode not in LABEL_MODES:
            raise ValueError(f'label_mode must be one of {LABEL_MODES}, got {label_mode!r}')
        if label_mode == 'pair' and not pairs_file:
            raise ValueError("label_mode='pair' needs pairs_file (data_lists/pairs.json)")
        self.label_mode = label_mode
        self.pairs_file = pairs_file
        self.vocab = PairVocabulary.load(pairs_file) if pairs_file else None
        self.num_verbs, self.num_nouns = num_verbs, num_nouns
        super().__init__(ann_file, pipeline=pipeline, data_prefix=data_prefix,
                         test_mode=test_mode, num_classes=num_classes, **kwargs)
        self._check_pipeline()

    def _check_pipeline(self) -> None:
        for t in self.pipeline.transforms:
            if type(t).__name__ in WHOLE_VIDEO_LOADERS:
                raise ValueError(
                    f'{type(t).__name__} samples from the whole video, not the '
                    'segment: use SegmentVideoInit in EpicSegmentVideoDataset '
                    'pipelines')

    def _label(self, verb: int, noun: int):
        if self.label_mode in ('verb', 'single'):
            return verb
        if self.label_mode == 'noun':
            return noun
        if self.label_mode == 'verb_noun':
            return np.array([verb, noun], dtype=np.int64)
        if verb == UNLABELLED or noun == UNLABELLED:
            return UNLABELLED
        index = self.vocab.index(verb, noun)
        return UNLABELLED if index is None else index

    def _check_classes(self, number: int, seg: Segment, label) -> None:
        """A class the head cannot predict: refused here, not as an IndexError in the loss."""
        where = f'{self.ann_file}:{number}'
        checks = [('verb class', seg.verb, self.num_verbs, 'num_verbs'),
                  ('noun class', seg.noun, self.num_nouns, 'num_nouns')]
        if np.ndim(label) == 0:
            what = 'pair index' if self.label_mode == 'pair' else 'class'
            checks.append((what, int(label), self.num_classes, 'num_classes'))
        for what, value, limit, key in checks:
            if limit is not None and value >= limit:
                raise ListFormatError(
                    f'{where}: {seg.narration_id} has {what} {value}, but the model '
                    f'predicts {limit} (0..{limit - 1}, the head\'s {key}): test and '
                    'train with the config this list was built for, or set the head\'s '
                    'class counts to the dataset\'s')

    def load_data_list(self) -> List[dict]:
        root = self.data_prefix.get('video') or ''
        rows = read_numbered_list(self.ann_file)
        check_list(self.ann_file, rows)
        data_list = []
        for number, seg in rows:
            if self.label_mode == 'single' and seg.noun != UNLABELLED:
                raise ListFormatError(
                    f'{self.ann_file}:{number}: {seg.narration_id} has a noun class '
                    f"({seg.noun}); label_mode='single' reads single-label lists "
                    "(class, -1): use label_mode='verb_noun' or 'pair' for EPIC "
                    'lists')
            label = self._label(seg.verb, seg.noun)
            self._check_classes(number, seg, label)
            data_list.append(dict(
                filename=osp.join(root, seg.video),
                segment_start=seg.start, segment_stop=seg.stop,
                verb_label=seg.verb, noun_label=seg.noun,
                label=label,
                narration_id=seg.narration_id, video_file=seg.video,
                participant_id=seg.participant_id,
                video_id=osp.splitext(osp.basename(seg.video))[0]))
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        # BaseActionDataset sets start_index=0 (whole-video numbering)
        info['start_index'] = info['segment_start']
        return info

    def prepare_data(self, idx: int):
        try:
            return super().prepare_data(idx)
        except VideoReadError as e:
            if self.test_mode:
                raise
            info = self.get_data_info(idx)
            print_log(f"skipping {info['narration_id']} (drawing another "
                      f'sample): {e}', logger='current', level=30)
            return None
