"""Shared by the SLURM and torchrun tests: a tiny synthetic EPIC dataset, the
demo config shrunk to a few iterations with the shard probe, probe readers."""
import json
import math
import os
import os.path as osp
import shutil
from collections import defaultdict
from typing import Dict, List

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import read_list
from epic_mmaction.synthetic.generator import SyntheticConfig, generate

from ..conftest import REPO

DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py')


def make_demo_data(root: str) -> Dict[str, str]:
    """2 training videos and 1 validation video (20 s, 96x96) and their lists;
    returns the environment the configs read (EPIC_VIDEOS, EPIC_LISTS)."""
    cfg = SyntheticConfig(videos={'train': 2, 'validation': 1, 'test': 0},
                          duration=20, width=96, height=96, seed=1)
    generate(root, cfg, workers=1)
    lists = osp.join(root, 'lists')
    build_annotations(BuildOptions(annotations_dir=root, out_dir=lists,
                                   splits=('train', 'val')))
    for split in ('train', 'val'):
        shutil.copy(osp.join(lists, f'epic100_{split}.txt'),
                    osp.join(lists, f'epic100_{split}_clean.txt'))
    return {'EPIC_VIDEOS': osp.join(root, 'videos'), 'EPIC_LISTS': lists}


def list_ids(lists: str, split: str = 'train') -> List[str]:
    return [r.narration_id for r in read_list(osp.join(lists, f'epic100_{split}_clean.txt'))]


def write_probe_config(path: str, epochs: int, batch_size: int = 2,
                       num_workers: int = 1, val_interval: int = 0,
                       val_batch_size: int = 2, val_workers: int = 0,
                       signal_at: dict = None, pause_at: dict = None,
                       max_keep_ckpts: int = 5, extra_imports=()) -> str:
    """The demo config, a few iterations, the shard probe on every rank
    (``signal_at``, ``pause_at``: see ShardProbeHook); validation after the
    last epoch unless ``val_interval``."""
    text = f"""_base_ = [{DEMO_CONFIG!r}]
custom_imports = dict(imports={['epic_mmaction.plugin', 'tests.slurm.shard_probe',
                                *extra_imports]!r},
                      allow_failed_imports=False)
custom_hooks = [dict(type='PreemptionCheckpointHook'),
                dict(type='ShardProbeHook', signal_at={signal_at!r},
                     pause_at={pause_at!r})]
train_dataloader = dict(batch_size={batch_size}, num_workers={num_workers},
                        persistent_workers={num_workers > 0})
val_dataloader = dict(batch_size={val_batch_size}, num_workers={val_workers},
                      persistent_workers={val_workers > 0})
test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
train_cfg = dict(max_epochs={epochs}, val_interval={val_interval or epochs})
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=1, max_keep_ckpts={max_keep_ckpts},
                                     save_best=None))
"""
    with open(path, 'w') as f:
        f.write(text)
    return path


def read_probe(work_dir: str) -> Dict[int, List[dict]]:
    """{rank: records} from the probe files (missing: empty)."""
    records = defaultdict(list)
    folder = osp.join(work_dir, 'probe')
    for name in sorted(os.listdir(folder)) if osp.isdir(folder) else []:
        with open(osp.join(folder, name)) as f:
            for line in f:
                if not line.endswith('\n'):
                    break  # being written
                rec = json.loads(line)
                records[rec['rank']].append(rec)
    return dict(records)


def trained_ids(records: List[dict], epoch: int) -> List[str]:
    """Narration ids trained in ``epoch`` (0-based) by one rank, in order."""
    return [i for r in records if r['event'] == 'iter' and r['epoch'] == epoch
            for i in r['ids']]


def last_iter(work_dir: str) -> dict:
    """The latest iteration record of rank 0 (empty before the first one)."""
    recs = [r for r in read_probe(work_dir).get(0, []) if r['event'] == 'iter']
    return recs[-1] if recs else {}


def check_losses_finite(records: Dict[int, List[dict]]) -> None:
    for rank, recs in records.items():
        iters = [r for r in recs if r['event'] == 'iter']
        assert iters, f'rank {rank} trained nothing'
        for r in iters:
            assert r['losses'] and all(math.isfinite(v) for v in r['losses'].values()), \
                f'rank {rank} iteration {r["iter"]}: {r["losses"]}'
