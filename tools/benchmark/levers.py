"""GPU-side training levers and the config keys they set.

Each lever is an ordinary config setting, so a setting that wins in
``tools/benchmark_training.py`` is written into a config as it is:

==================  ====================================================================
lever               config keys
==================  ====================================================================
amp fp16 / bf16     ``optim_wrapper.type='AmpOptimWrapper'``, ``optim_wrapper.dtype=
                    'float16'`` / ``'bfloat16'`` (``loss_scale='dynamic'`` kept/added)
amp none (fp32)     ``optim_wrapper.type='OptimWrapper'`` (no ``dtype``/``loss_scale``)
channels-last       ``custom_hooks`` += ``dict(type='ChannelsLastHook')``
compile [MODE]      ``compile=True`` or ``compile=dict(mode=MODE)`` (mmengine compiles
                    ``model.train_step``)
cudnn benchmark     ``env_cfg.cudnn_benchmark=True/False``
==================  ====================================================================

A sweep entry ("spec") names levers joined by "+", e.g. ``bf16+cl+compile``.
"""
from dataclasses import dataclass, fields
from typing import Any, Dict, Iterable, Optional
from epic_mmaction.utils import EpicError

AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}
AMP_CHOICES = ('none', 'fp16', 'bf16')
COMPILE_MODES = ('off', 'default', 'reduce-overhead', 'max-autotune',
                 'max-autotune-no-cudagraphs')
SPEC_TOKENS = ('config', 'fp32', 'fp16', 'bf16', 'cl', 'nocl', 'compile',
               'compile=MODE', 'nocompile', 'bench', 'nobench')
#: ``--sweep`` without a list: lever combinations per device type (AMP and
#: cuDNN mean nothing on CPU)
DEFAULT_SWEEP = {
    'cuda': ['config', 'fp32', 'fp16', 'bf16', 'fp16+cl', 'bf16+cl', 'bf16+cl+compile',
             'bf16+nobench'],
    'cpu': ['config', 'cl'],
}


class LeverError(EpicError, ValueError):
    """A lever that does not exist or does not fit the config."""


def check_choice(what: str, value: str, choices: Iterable[str]) -> str:
    if value not in choices:
        raise LeverError(f'{what} {value!r} is not one of {", ".join(choices)}')
    return value


@dataclass
class Levers:
    """GPU-side switches; ``None`` keeps what the config says."""
    amp: Optional[str] = None  # one of AMP_CHOICES
    channels_last: Optional[bool] = None
    compile: Optional[str] = None  # one of COMPILE_MODES
    cudnn_benchmark: Optional[bool] = None

    def merged(self, over: 'Levers') -> 'Levers':
        """These levers with every lever ``over`` sets replaced."""
        return Levers(**{f.name: (getattr(over, f.name) if getattr(over, f.name) is not None
                                  else getattr(self, f.name)) for f in fields(self)})

    def spec(self) -> str:
        """The sweep spelling of these levers ('config' when none is set)."""
        tokens = []
        if self.amp is not None:
            tokens.append('fp32' if self.amp == 'none' else self.amp)
        if self.channels_last is not None:
            tokens.append('cl' if self.channels_last else 'nocl')
        if self.compile is not None:
            tokens.append({'off': 'nocompile', 'default': 'compile'}.get(
                self.compile, f'compile={self.compile}'))
        if self.cudnn_benchmark is not None:
            tokens.append('bench' if self.cudnn_benchmark else 'nobench')
        return '+'.join(tokens) or 'config'


def parse_spec(spec: str) -> Levers:
    """'bf16+cl+compile=max-autotune' -> Levers; the tokens are SPEC_TOKENS."""
    levers = Levers()
    for token in spec.strip().split('+'):
        token = token.strip()
        if token in ('fp32', 'fp16', 'bf16'):
            levers.amp = 'none' if token == 'fp32' else token
        elif token in ('cl', 'nocl'):
            levers.channels_last = token == 'cl'
        elif token in ('compile', 'nocompile'):
            levers.compile = 'default' if token == 'compile' else 'off'
        elif token.startswith('compile='):
            levers.compile = check_choice('compile mode', token.split('=', 1)[1],
                                          COMPILE_MODES)
        elif token in ('bench', 'nobench'):
            levers.cudnn_benchmark = token == 'bench'
        elif token != 'config':
            raise LeverError(f'unknown lever {token!r} in sweep entry {spec!r}: join '
                             f'these with "+": {", ".join(SPEC_TOKENS)}')
    return levers


def apply_levers(cfg, levers: Levers) -> None:
    """Write the levers into ``cfg`` under the keys in the module's table."""
    if levers.amp is not None:
        check_choice('--amp', levers.amp, AMP_CHOICES)
        wrapper = cfg.optim_wrapper
        if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise LeverError(f'--amp: optim_wrapper type {wrapper.type!r} is neither '
                             'OptimWrapper nor AmpOptimWrapper; set its precision with '
                             '--cfg-options instead')
        if levers.amp == 'none':
            wrapper.type = 'OptimWrapper'
            wrapper.pop('loss_scale', None)
            wrapper.pop('dtype', None)
        else:
            wrapper.type = 'AmpOptimWrapper'
            wrapper.dtype = AMP_DTYPES[levers.amp]
            wrapper.setdefault('loss_scale', 'dynamic')
    if levers.channels_last is not None:
        hooks = [h for h in cfg.get('custom_hooks', []) if h.get('type') != 'ChannelsLastHook']
        if levers.channels_last:
            hooks.append(dict(type='ChannelsLastHook'))
        cfg.custom_hooks = hooks
    if levers.compile is not None:
        mode = check_choice('--compile', levers.compile, COMPILE_MODES)
        cfg.compile = {'off': False, 'default': True}.get(mode, dict(mode=mode))
    if levers.cudnn_benchmark is not None:
        env_cfg = cfg.get('env_cfg') or {}
        env_cfg['cudnn_benchmark'] = levers.cudnn_benchmark
        cfg.env_cfg = env_cfg


def effective_levers(cfg) -> Dict[str, Any]:
    """AMP, channels-last and compile as ``cfg`` sets them (cuDNN benchmark is
    read from torch once the runner has set it up)."""
    wrapper = cfg.optim_wrapper
    amp = 'none'
    if wrapper.get('type') == 'AmpOptimWrapper':
        dtype = wrapper.get('dtype')  # None: autocast's default on CUDA, float16
        name = 'float16' if dtype is None else str(dtype).replace('torch.', '')
        amp = {'float16': 'fp16', 'bfloat16': 'bf16'}.get(name, name)
    compile_cfg = cfg.get('compile', None)
    if not compile_cfg:
        compile_name = 'off'
    elif compile_cfg is True:
        compile_name = 'default'
    else:
        compile_name = compile_cfg.get('mode') or 'default'
        extra = {k: v for k, v in compile_cfg.items() if k != 'mode'}
        if extra:
            compile_name += '(' + ', '.join(f'{k}={v}' for k, v in extra.items()) + ')'
    return dict(amp=amp, compile=compile_name,
                channels_last=any(h.get('type') == 'ChannelsLastHook'
                                  for h in cfg.get('custom_hooks', [])))
