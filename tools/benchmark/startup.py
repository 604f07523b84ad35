"""Tool start-up times: ``python tools/X.py --help`` against a pandas+numpy import.

Each command runs ``repeats`` times in a fresh interpreter, alternating tools
so that disk caches and CPU frequency affect every row alike; the median wall
time is compared with the baseline's, measured in the same run.
"""
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Sequence

BASELINE = 'import pandas, numpy'
TORCH_FREE_TOOLS = ('build_annotations', 'clean_segments', 'export_codabench', 'evaluate',
                    'analyze_results', 'reencode_videos')
TARGET_RATIO = 3.0  # a data-side tool starts within 3x of importing pandas and numpy


@dataclass
class StartupRow:
    name: str
    median_s: float
    ratio: float  # to the baseline's median


def _time(command: List[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure_startup(repo: str, tools: Sequence[str] = TORCH_FREE_TOOLS,
                    repeats: int = 5) -> List[StartupRow]:
    """Median start-up of the baseline and of each tool's ``--help``."""
    commands: Dict[str, List[str]] = {
        f'python -c "{BASELINE}"': [sys.executable, '-c', BASELINE]}
    for tool in tools:
        commands[f'tools/{tool}.py --help'] = [sys.executable, f'tools/{tool}.py', '--help']
    for command in commands.values():  # warm the disk cache once
        _time(command, repo)
    times: Dict[str, List[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            times[name].append(_time(command, repo))
    base = statistics.median(next(iter(times.values())))
    return [StartupRow(name, statistics.median(t), statistics.median(t) / base)
            for name, t in times.items()]


def format_table(rows: Sequence[StartupRow]) -> str:
    lines = ['| command | median start (s) | x baseline |', '| --- | ---: | ---: |']
    lines += [f'| `{r.name}` | {r.median_s:.2f} | {r.ratio:.1f} |' for r in rows]
    return '\n'.join(lines)
