"""Lists are checked when the dataset loads: empty, duplicate ids, classes the head lacks."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from epic_mmaction.annotations.listfile import (DuplicateNarrationError, EmptyListError,
                                                ListFormatError, Segment, read_list,
                                                write_list)
from epic_mmaction.annotations.pairs import PairVocabulary
from epic_mmaction.datasets import fill_class_counts
from epic_mmaction.engine.model_spec import model_spec
from mmaction.registry import DATASETS

from ..conftest import REPO

init_default_scope('mmaction')
ROWS = [Segment('P01/P01_01.MP4', 0, 9, 0, 1, 'P01_01_0'),
        Segment('P01/P01_01.MP4', 10, 19, 2, 3, 'P01_01_1'),
        Segment('P01/P01_01.MP4', 20, 29, -1, -1, 'P01_01_2')]  # unlabelled: always fine


def build(ann_file, **kwargs):
    return DATASETS.build(dict(type='EpicSegmentVideoDataset', ann_file=str(ann_file),
                               pipeline=[dict(type='SegmentVideoInit')],
                               **{'label_mode': 'verb_noun', **kwargs}))


def test_empty_and_duplicate_lists_are_refused_naming_file_and_lines(tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_text('# only a comment\n\n')
    with pytest.raises(EmptyListError, match=f'{empty} has no segments'):
        build(empty)
    assert read_list(str(empty)) == []  # unchecked reads stay possible
    with pytest.raises(EmptyListError):
        read_list(str(empty), check=True)
    dup = tmp_path / 'dup.txt'
    dup.write_text('# header\n' + '\n'.join(s.to_line() for s in ROWS + [ROWS[1]]) + '\n')
    with pytest.raises(DuplicateNarrationError,
                       match=f'{dup}:5: narration id P01_01_1 is already on line 3'):
        build(dup)
    with pytest.raises(DuplicateNarrationError):
        read_list(str(dup), check=True)


def test_classes_beyond_the_head_are_refused_with_their_line(tmp_path):
    ann = tmp_path / 'list.txt'
    write_list(str(ann), ROWS)
    assert len(build(ann, num_verbs=3, num_nouns=4)) == 3  # 2 and 3 fit; -1 is allowed
    with pytest.raises(ListFormatError, match=f'{ann}:2: P01_01_1 has verb class 2, but '
                       r"the model predicts 2 \(0..1, the head's num_verbs\)"):
        build(ann, num_verbs=2, num_nouns=4)
    with pytest.raises(ListFormatError, match=f'{ann}:2: P01_01_1 has noun class 3'):
        build(ann, num_verbs=3, num_nouns=3)
    # pair mode: the pair index against the head's pairs
    pairs = str(tmp_path / 'pairs.json')
    PairVocabulary([(0, 1), (2, 3)]).save(pairs)
    ds = build(ann, label_mode='pair', pairs_file=pairs, num_classes=2)
    assert [ds.get_data_info(i)['label'] for i in range(3)] == [0, 1, -1]
    with pytest.raises(ListFormatError, match=f'{ann}:2: P01_01_1 has pair index 1, but '
                       'the model predicts 1'):
        build(ann, label_mode='pair', pairs_file=pairs, num_classes=1)


def test_single_label_lists_check_their_class(tmp_path):
    ann = tmp_path / 'clips.txt'
    write_list(str(ann), [Segment('a/v_a.avi', 0, -1, 0, -1, 'v_a'),
                          Segment('b/v_b.avi', 0, -1, 4, -1, 'v_b'),
                          Segment('c/v_c.avi', 0, -1, -1, -1, 'v_c')])
    assert len(build(ann, label_mode='single', num_classes=5)) == 3
    with pytest.raises(ListFormatError, match=f'{ann}:2: v_b has class 4, but the model '
                       'predicts 4'):
        build(ann, label_mode='single', num_classes=4)


def test_tools_fill_the_counts_of_the_configs_head():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo',
                                   'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py'))
    spec = model_spec(cfg)
    assert spec.class_counts == dict(num_verbs=6, num_nouns=12, num_classes=None)
    assert fill_class_counts(cfg, **spec.class_counts) == 3
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert (dataset.num_verbs, dataset.num_nouns) == (6, 12)
        assert 'num_classes' not in dataset
    clips = Config.fromfile(osp.join(REPO, 'configs', 'demo',
                                     'r18_lstm_1xb8-u4-16e_synthetic-ucf50-rgb.py'))
    spec = model_spec(clips)
    assert spec.class_counts == dict(num_verbs=None, num_nouns=None,
                                     num_classes=clips.model.cls_head.num_classes)
    # wrapped datasets (RepeatDataset) are found too
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2, dataset=dict(type='EpicSegmentVideoDataset')))))
    assert fill_class_counts(cfg, num_classes=5) == 1
    assert cfg.train_dataloader.dataset.dataset.num_classes == 5
