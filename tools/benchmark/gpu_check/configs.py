"""The short runs of a config: its own model, AMP and loader settings, shortened.

A run trains ``train_iters`` iterations (whole epochs over a short train list),
validates once at the end and logs every iteration's time (``scalars.json``).
What changes, whatever the profile:

- the lists (``EPIC_LISTS``): a short train list, a short validation list that
  also serves as the test list (the test split has no labels to score);
- ``LocalVisBackend`` only: a GPU node may lack tensorboard;
- log every iteration, with a window of one, so each iteration's time is kept.

``--tiny`` also shrinks the batch, the loader workers and the frames' size
(Resize/crop steps of every pipeline) so seven models train on a CPU in seconds.
Nothing of the configs' GPU settings (AMP, cuDNN benchmark, workers) changes in
a full run: that is what the report measures.
"""
import math
import os
import os.path as osp
import shutil
from typing import Any, Dict, List, Optional, Tuple

from epic_mmaction.annotations.listfile import read_list, write_list

PIPELINES = ('train_dataloader.dataset.pipeline', 'val_dataloader.dataset.pipeline',
             'test_dataloader.dataset.pipeline')
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def write_run_lists(lists_dir: str, out_dir: str, train_segments: int,
                    val_segments: int) -> Tuple[str, int]:
    """Short lists for the runs: ``(folder, train list length)``.

    The first ``train_segments`` cleaned train segments; the first
    ``val_segments`` validation ones, as both the val and the test list.
    """
    os.makedirs(out_dir, exist_ok=True)
    train = read_list(osp.join(lists_dir, 'epic100_train_clean.txt'))[:train_segments]
    val = read_list(osp.join(lists_dir, 'epic100_val_clean.txt'))[:val_segments]
    if not train or not val:
        raise ValueError(f'{lists_dir}: the cleaned train or val list is empty')
    write_list(osp.join(out_dir, 'epic100_train_clean.txt'), train)
    for split in ('val', 'test'):
        write_list(osp.join(out_dir, f'epic100_{split}_clean.txt'), val)
    shutil.copy(osp.join(lists_dir, 'pairs.json'), osp.join(out_dir, 'pairs.json'))
    return out_dir, len(train)


def shrink_pipeline(pipeline: List[Dict[str, Any]], key: str, size: int
                    ) -> Dict[str, Any]:
    """``--cfg-options``-style overrides that scale a pipeline down to ``size`` px."""
    out: Dict[str, Any] = {}
    for i, step in enumerate(pipeline):
        kind = step.get('type')
        if kind == 'Resize' and tuple(step.get('scale', ())) [:1] == (-1,):
            out[f'{key}.{i}.scale'] = (-1, size + size // 8)
        elif kind == 'Resize' and step.get('keep_ratio') is False:
            out[f'{key}.{i}.scale'] = (size, size)
        elif kind in ('CenterCrop', 'ThreeCrop', 'TenCrop'):
            out[f'{key}.{i}.crop_size'] = size
        elif kind == 'MultiScaleCrop':
            out[f'{key}.{i}.input_size'] = size
    return out


def _get(cfg, dotted: str):
    for part in dotted.split('.'):
        cfg = cfg[part]
    return cfg


def run_overrides(cfg, train_len: int, iters: int, batch_size: Optional[int] = None,
                  workers: Optional[int] = None, shrink_to: Optional[int] = None,
                  epochs: Optional[int] = None) -> Dict[str, Any]:
    """Overrides (for ``Config.merge_from_dict``) of a run of about ``iters``
    iterations; ``epochs`` fixes the number of epochs instead."""
    out: Dict[str, Any] = {}
    if batch_size is not None:
        for loader in LOADERS[:2]:
            out[f'{loader}.batch_size'] = batch_size
    if workers is not None:
        for loader in LOADERS:
            out[f'{loader}.num_workers'] = workers
            out[f'{loader}.persistent_workers'] = workers > 0
    if shrink_to is not None:
        for key in PIPELINES:
            out.update(shrink_pipeline(_get(cfg, key), key, shrink_to))
    batch = batch_size or cfg.train_dataloader.batch_size
    per_epoch = max(1, math.ceil(train_len / batch))
    epochs = epochs or max(1, math.ceil(iters / per_epoch))
    out.update({
        'train_cfg.max_epochs': epochs, 'train_cfg.val_begin': epochs,
        'train_cfg.val_interval': epochs,
        'default_hooks.checkpoint.interval': epochs,
        'default_hooks.logger.interval': 1, 'log_processor.window_size': 1,
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
    })
    return out


def derive_config(config: str, out_path: str, overrides: Dict[str, Any]) -> str:
    """Write ``config`` with ``overrides`` merged as a standalone config file.

    Read with ``EPIC_VIDEOS``/``EPIC_LISTS`` already set: the paths are
    resolved into the file, so it reruns as it ran.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(overrides)
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    cfg.dump(out_path)
    return out_path


def config_name(config: str) -> str:
    return osp.splitext(osp.basename(config))[0]
