"""Fine-tuning strategies: a frozen backbone, unfrozen stage by stage on a schedule.

Fine-tuning a Kinetics-pretrained model on a small dataset (UCF50, HRI30)
often works best when the pretrained features are left alone at first:

* head only: ``FineTuningHook(frozen=['backbone'])``;
* progressive unfreezing: ``FineTuningHook(frozen=['backbone'],
  unfreeze={2: ['backbone.layer4'], 4: ['backbone.layer3']})``, deepest
  stage first (ULMFiT's gradual unfreezing);
* differential learning rates need no hook: ``optim_wrapper.paramwise_cfg =
  dict(custom_keys={'backbone': dict(lr_mult=0.1)})``, and combine with both.

Frozen parameters get ``requires_grad=False`` (no gradients, so no compute
and no weight-decay or momentum updates) and frozen modules stay in eval
mode, so their BatchNorm statistics stay the pretrained ones. The optimizer
holds every parameter from the start, so an unfrozen stage trains at its
group's learning rate from the epoch it is unfrozen. The state is a function
of the epoch alone, so a resumed run freezes exactly what the interrupted
one did. Under DDP the model is re-wrapped whenever the trainable set
changes: DDP only synchronises the gradients of parameters that required
them when it was built.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Set, Tuple

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmaction.registry import HOOKS
from torch import nn


def _covers(prefix: str, name: str) -> bool:
    return name == prefix or name.startswith(prefix + '.')


def frozen_names(names: Sequence[str], frozen: Sequence[str],
                 unfrozen: Sequence[str]) -> Set[str]:
    """Which of ``names`` are frozen: the most specific covering prefix decides."""
    out = set()
    for name in names:
        best: Tuple[int, bool] = (-1, False)
        for prefix, is_frozen in [(p, True) for p in frozen] + [(p, False) for p in unfrozen]:
            if _covers(prefix, name) and len(prefix) > best[0]:
                best = (len(prefix), is_frozen)
        if best[1]:
            out.add(name)
    return out


@HOOKS.register_module()
class FineTuningHook(Hook):
    """Freeze modules of the model, and unfreeze parts of them on an epoch schedule.

    Args:
        frozen (Sequence[str]): Module names (as in ``model.named_modules()``,
            e.g. ``'backbone'`` or ``'backbone.layer1'``) frozen from the start.
        unfreeze (Mapping[int, Sequence[str]], optional): Epoch (0-based, as
            ``runner.epoch``: ``2`` is the third) -> modules inside ``frozen``
            unfrozen from that epoch on. Defaults to None (frozen throughout).
        bn_eval (bool): Keep frozen modules in eval mode (BatchNorm running
            statistics and dropout frozen too). Defaults to True.
    """

    priority = 'VERY_HIGH'  # before other hooks look at the trainable set

    def __init__(self, frozen: Sequence[str],
                 unfreeze: Optional[Mapping[int, Sequence[str]]] = None,
                 bn_eval: bool = True) -> None:
        if isinstance(frozen, str) or not frozen:
            raise ValueError(f'frozen must be a non-empty list of module names, '
                             f'got {frozen!r}')
        self.frozen = list(frozen)
        self.unfreeze: Dict[int, List[str]] = {}
        for epoch, names in (unfreeze or {}).items():
            epoch = int(epoch)
            if epoch < 0:
                raise ValueError(f'unfreeze epochs count from 0, got {epoch}')
            names = [names] if isinstance(names, str) else list(names)
            for name in names:
                if not any(_covers(p, name) for p in self.frozen):
                    raise ValueError(f'unfreeze at epoch {epoch}: {name!r} is not '
                                     f'inside any frozen module {self.frozen}')
            self.unfreeze[epoch] = names
        self.bn_eval = bn_eval
        self._frozen_modules: List[nn.Module] = []
        self._state: Optional[Tuple[str, ...]] = None

    def unfrozen_at(self, epoch: int) -> List[str]:
        """Modules unfrozen by the start of ``epoch``."""
        return [n for e in sorted(self.unfreeze) if e <= epoch for n in self.unfreeze[e]]

    @staticmethod
    def _model(runner) -> nn.Module:
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _check_names(self, model: nn.Module) -> None:
        modules = dict(model.named_modules())
        wanted = self.frozen + [n for names in self.unfreeze.values() for n in names]
        missing = [n for n in wanted if n not in modules]
        if missing:
            top = sorted({n.split('.')[0] for n in modules if n})
            raise ValueError(f'FineTuningHook: the model has no module {missing}; '
                             f'its top-level modules are {top} (see '
                             'model.named_modules() for deeper names)')

    def apply(self, runner, epoch: int) -> None:
        """Freeze/unfreeze for ``epoch``; log and re-wrap DDP if anything changed."""
        model = self._model(runner)
        unfrozen = self.unfrozen_at(epoch)
        params = dict(model.named_parameters())
        frozen = frozen_names(list(params), self.frozen, unfrozen)
        state = tuple(sorted(frozen))
        if state == self._state:
            return
        for name, param in params.items():
            param.requires_grad_(name not in frozen)
        modules = dict(model.named_modules())
        names = [n for n in modules if n]
        frozen_mods = frozen_names(names, self.frozen, unfrozen)
        # eval() recurses: put in eval mode the outermost modules whose whole
        # subtree is frozen (not 'backbone' once 'backbone.layer4' trains)
        live = [n for n in names if n not in frozen_mods]
        whole = {n for n in frozen_mods if not any(_covers(n, d) for d in live)}
        self._frozen_modules = [modules[n] for n in sorted(whole)
                                if not any(_covers(o, n) and o != n for o in whole)]
        trainable = sum(p.numel() for p in params.values() if p.requires_grad)
        total = sum(p.numel() for p in params.values())
        now = [n for n in unfrozen if n in self.unfreeze.get(epoch, [])]
        what = (f'unfroze {now}' if self._state is not None and now
                else f'frozen {self.frozen}' + (f', unfrozen {unfrozen}' if unfrozen else ''))
        print_log(f'FineTuningHook: epoch {epoch + 1}: {what}; trainable parameters '
                  f'{trainable / 1e6:.2f}M of {total / 1e6:.2f}M', logger='current')
        runner.message_hub.update_info('trainable_params', trainable)
        self._state = state
        if is_model_wrapper(runner.model):
            self._rewrap(runner, model)
        self._set_eval()

    @staticmethod
    def _rewrap(runner, model: nn.Module) -> None:
        wrapper = runner.model
        if not hasattr(wrapper, 'require_backward_grad_sync'):  # not DDP: nothing to do
            return
        runner.model = runner.wrap_model(runner.cfg.get('model_wrapper_cfg'), model)
        print_log('FineTuningHook: re-wrapped the model in DDP for the new '
                  'trainable parameters', logger='current')

    def _set_eval(self) -> None:
        if self.bn_eval:
            for module in self._frozen_modules:
                if module.training:
                    module.eval()

    def before_train(self, runner) -> None:
        self._check_names(self._model(runner))
        self.apply(runner, runner.epoch)

    def before_train_epoch(self, runner) -> None:
        self.apply(runner, runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        # the train loop calls model.train() after before_train_epoch
        self._set_eval()
