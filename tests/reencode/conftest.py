"""Tiny synthetic videos (59.94 and 50 fps, B-frames, GOP 250) and their lists."""
from types import SimpleNamespace

import pytest

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import Segment, write_list
from epic_mmaction.synthetic.generator import SyntheticConfig, generate


def edge_segments(plans) -> list:
    """Whole videos, single frames at both ends and segments around the 1 s
    chunk boundaries (frames 59/60 at 59.94 fps, 49/50 at 50 fps)."""
    rows = []
    for plan in plans:
        n, per_s = plan.num_frames, round(float(plan.fps))
        ranges = [(0, n - 1), (0, 0), (n - 1, n - 1), (1, 1), (2, 2), (4, 4),
                  (per_s - 1, per_s), (per_s, per_s), (per_s - 1, per_s - 1),
                  (2 * per_s - 3, 3 * per_s + 2), (n - per_s - 1, n - 1)]
        for k, (a, b) in enumerate(ranges):
            rows.append(Segment(plan.rel_path, a, b, 0, 0, f'{plan.video_id}_edge{k}'))
    return rows


@pytest.fixture(scope='session')
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp('reencode_src')
    cfg = SyntheticConfig(videos={'train': 1, 'validation': 1, 'test': 0}, duration=10,
                          width=160, height=90, quirks=False, seed=5)
    plans = generate(str(root), cfg, workers=2)
    videos = str(root / 'videos')
    lists = root / 'lists'
    build_annotations(BuildOptions(annotations_dir=str(root), out_dir=str(lists),
                                   data_root=videos, splits=('train', 'val')))
    edges = str(lists / 'edges.txt')
    write_list(edges, edge_segments(plans))
    return SimpleNamespace(
        root=str(root), videos=videos, plans=plans, size=(cfg.width, cfg.height),
        lists=[str(lists / 'epic100_train.txt'), str(lists / 'epic100_val.txt'), edges])
