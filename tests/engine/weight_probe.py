"""A hook for distributed tests: each rank writes digests of watched weights per epoch."""
import json
import os
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class WeightProbeHook(Hook):
    """``work_dir/weights/rank{R}_epoch{E}.json``: {parameter: [sum, sum of squares]}."""

    priority = 'LOWEST'

    def __init__(self, names) -> None:
        self.names = list(names)

    def after_train_epoch(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        params = dict(model.named_parameters())
        digest = {n: [float(params[n].double().sum()), float(params[n].double().pow(2).sum())]
                  for n in self.names}
        folder = osp.join(runner.work_dir, 'weights')
        os.makedirs(folder, exist_ok=True)
        with open(osp.join(folder, f'rank{get_rank()}_epoch{runner.epoch}.json'), 'w') as f:
            json.dump(dict(digest=digest, wrapped=type(runner.model).__name__), f)
