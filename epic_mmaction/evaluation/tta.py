"""Test-time augmentation: swap a config's test pipeline for its ``tta_pipeline``.

Each model config defines ``tta_pipeline`` (several clips x three crops). Every
view of a narration is packed into one sample, so the head averages the views
(``average_clips``) and the metric and ``--dump`` see one score per narration.
"""
import copy

from mmengine.config import Config

from ..utils import UsageError


def use_tta_pipeline(cfg: Config, config_name: str = 'the config') -> Config:
    """Test with ``cfg.tta_pipeline``; one narration per batch (views vary in number)."""
    pipeline = cfg.get('tta_pipeline', None)
    if not pipeline:
        raise UsageError(f'{config_name} defines no tta_pipeline: add one (see '
                         'configs/_base_/datasets/epic100_segments.py) or test without --tta')
    if not any(step.get('type') in ('ThreeCrop', 'TenCrop') or step.get('num_clips', 1) > 1
               for step in pipeline):
        raise UsageError(f'the tta_pipeline of {config_name} samples one view only: '
                         'give SampleFrames/UniformSample num_clips > 1 or add ThreeCrop')
    cfg.test_dataloader.dataset.pipeline = copy.deepcopy(pipeline)
    return cfg
