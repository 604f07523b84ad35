"""A tiny synthetic dataset and an untrained demo checkpoint for inference tests.

Inference mechanics (windows, decoding, batching, outputs) do not need a
trained model, so the checkpoint is the demo config's model as built.
"""
import os.path as osp

import torch

from epic_mmaction.synthetic.generator import SyntheticConfig, generate

from ..conftest import REPO

DEMO_CONFIG = osp.join(REPO, 'configs', 'demo', 'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py')
NUM_VERBS, NUM_NOUNS = 6, 12


def make_videos(root: str) -> dict:
    """Two 12 s 96x96 videos (59.94 and 25 fps; the demo config crops as for make demo).

    Returns ``{'videos': {video_id: (path, num_frames, fps)}, 'verb_csv',
    'noun_csv', 'truth'}``.
    """
    cfg = SyntheticConfig(videos={'train': 2, 'validation': 0, 'test': 0}, duration=12,
                          fps=(59.94, 25.0), width=96, height=96, seed=7)
    plans = generate(root, cfg)
    return dict(videos={p.video_id: (osp.join(root, 'videos', p.rel_path), p.num_frames,
                                     float(p.fps)) for p in plans},
                verb_csv=osp.join(root, 'EPIC_100_verb_classes.csv'),
                noun_csv=osp.join(root, 'EPIC_100_noun_classes.csv'),
                truth=osp.join(root, 'synthetic_truth.json'))


def save_untrained_checkpoint(path: str, config: str = DEMO_CONFIG, **head) -> str:
    """The config's model with its construction-time weights (``head`` overrides)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    import epic_mmaction.plugin  # noqa: F401  (stack fixes, registers every module)
    from mmaction.registry import MODELS
    cfg = Config.fromfile(config)
    cfg.model.cls_head.update(head)
    init_default_scope('mmaction')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)
    return path
