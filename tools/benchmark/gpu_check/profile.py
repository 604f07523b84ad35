"""What a run does and how long each step may take: the full GPU run and ``--tiny``.

The full profile's budgets add up to 480 s (8 minutes) on one H100/H200-class
GPU with 16 cores; ``--tiny`` runs the same steps on CPU in about a minute, so
the suite exercises the whole command between GPU runs.
"""
import os
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

from epic_mmaction.utils import UsageError

STEPS = ('env', 'data', 'train', 'resume', 'throughput', 'decoding')
#: the EPIC configs every run trains and tests (verb/noun and pair heads)
EPIC_CONFIGS = (
    'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-verbnoun.py',
    'configs/x3d/x3d_s_4xb16-13x6x1-30e_epic100-rgb-pair.py',
    'configs/slowfast/slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-verbnoun.py',
    'configs/slowfast/slowfast_r50_8xb8-4x16x1-30e_epic100-rgb-pair.py',
    'configs/tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py',
    'configs/tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-pair.py',
    'configs/r50_lstm/r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py',
)
#: one config per backbone for the throughput step (X3D-S, SlowFast R50, TSM-R50)
THROUGHPUT_CONFIGS = EPIC_CONFIGS[0:1] + EPIC_CONFIGS[2:3] + EPIC_CONFIGS[4:5]


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Profile:
    """One run's sizes; ``None`` keeps the config's own setting."""
    name: str
    device: str  # 'cuda' or 'cpu'
    budgets: Dict[str, float]  # step -> seconds
    # data: synthetic originals (videos per split, seconds each) and re-encodes
    videos: Tuple[int, int, int]
    duration: float
    original_size: Tuple[int, int]
    original_gop: int
    short_side: int
    reencoded_gop: int
    val_segments: int  # validation/test list length for the train step
    # train step
    train_iters: int
    batch_size: Optional[int]
    workers: Optional[int]
    shrink_to: Optional[int]  # crop size for tiny runs (pipelines scaled down)
    config_processes: int
    # throughput step
    bench_iters: int
    bench_warmup: int
    sweep: Tuple[str, ...]
    isolate_sweep: bool  # each lever setting in its own process
    # decoding step
    decode_clips_per_worker: int
    decode_workers: int
    configs: Tuple[str, ...] = EPIC_CONFIGS
    throughput_configs: Tuple[str, ...] = THROUGHPUT_CONFIGS

    @property
    def total_budget(self) -> float:
        return sum(self.budgets.values())


FULL_BUDGETS = dict(env=20, data=70, train=140, resume=45, throughput=160, decoding=45)
#: ceilings for a shared CI machine: idle 2 cores take about a third of each
TINY_BUDGETS = dict(env=30, data=90, train=300, resume=120, throughput=120, decoding=90)


def full_profile() -> Profile:
    cores = cpu_count()
    return Profile(
        name='full', device='cuda', budgets=dict(FULL_BUDGETS),
        videos=(8, 2, 1), duration=20, original_size=(1920, 1080), original_gop=250,
        short_side=256, reencoded_gop=16, val_segments=32,
        train_iters=20, batch_size=None, workers=None, shrink_to=None,
        config_processes=2, bench_iters=20, bench_warmup=10,
        sweep=('config', 'bf16+cl'), isolate_sweep=True,
        decode_clips_per_worker=8, decode_workers=cores)


def tiny_profile() -> Profile:
    return Profile(
        name='tiny', device='cpu', budgets=dict(TINY_BUDGETS),
        videos=(2, 1, 1), duration=6, original_size=(192, 108), original_gop=250,
        short_side=64, reencoded_gop=16, val_segments=2,
        train_iters=2, batch_size=1, workers=0, shrink_to=48,
        config_processes=1, bench_iters=2, bench_warmup=1,
        sweep=('config',), isolate_sweep=False,
        decode_clips_per_worker=2, decode_workers=min(2, cpu_count()))


def parse_budgets(items: Sequence[str]) -> Dict[str, float]:
    """``['train=300', 'data=90']`` -> ``{'train': 300.0, 'data': 90.0}``."""
    out: Dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition('=')
        if not sep or name not in STEPS:
            raise UsageError(f'--budget {item!r}: expected STEP=SECONDS with STEP one of '
                             f'{", ".join(STEPS)}')
        try:
            seconds = float(value)
        except ValueError:
            seconds = -1.0
        if not seconds > 0:
            raise UsageError(f'--budget {item!r}: SECONDS must be a number > 0')
        out[name] = seconds
    return out


def parse_steps(text: str) -> List[str]:
    """``'env,train'`` -> the steps in run order; unknown names are a usage error."""
    names = [s.strip() for s in text.split(',') if s.strip()]
    unknown = [n for n in names if n not in STEPS]
    if unknown or not names:
        raise UsageError(f'--steps {text!r}: choose from {", ".join(STEPS)} '
                         '(comma-separated)')
    return [s for s in STEPS if s in names]


def customised(profile: Profile, budgets: Optional[Dict[str, float]] = None,
               configs: Optional[Sequence[str]] = None, sweep: Optional[Sequence[str]] = None,
               config_processes: Optional[int] = None) -> Profile:
    """``profile`` with the command line's overrides."""
    changes: Dict[str, object] = {}
    if budgets:
        changes['budgets'] = dict(profile.budgets, **budgets)
    if configs:
        changes['configs'] = tuple(configs)
        changes['throughput_configs'] = tuple(
            c for c in configs if c in profile.throughput_configs) or tuple(configs[:1])
    if sweep:
        changes['sweep'] = tuple(sweep)
    if config_processes:
        changes['config_processes'] = config_processes
    return replace(profile, **changes)
