"""Subprocesses under a deadline: their own process group, killed whole when late.

Every step, and every training run inside one, is a child process group, so a
step that overruns its budget is stopped with its loader workers and
grandchildren, and the run goes on to the next step.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Set

TOOLS_DIR = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REPO = osp.dirname(TOOLS_DIR)
#: lines that name an error: a Python exception line, or a tool's one-line error
ERROR_RE = re.compile(r'^(\w+\.)*\w*(Error|Exception|Interrupt|Exit)\b(:|$)|'
                      r'^[\w.-]+: error: |^RuntimeError|CUDA out of memory')


@dataclass
class Finished:
    """How a child process ended."""
    returncode: Optional[int]  # None: killed at its deadline
    seconds: float
    log: str  # its path; stdout and stderr together

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def harness_env(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment with ``tools/`` (the harness) and the checkout importable."""
    path = os.pathsep.join(p for p in (TOOLS_DIR, REPO, os.environ.get('PYTHONPATH'))
                           if p)
    return dict(os.environ, PYTHONPATH=path, PYTHONUNBUFFERED='1', **(extra or {}))


#: children running now, so a step killed at its deadline takes them along
LIVE: Set[subprocess.Popen] = set()


def kill_group(proc: subprocess.Popen, grace: Optional[float] = None) -> None:
    """Kill the child's process group: SIGKILL, or with ``grace`` SIGTERM first
    (a step's process then kills its own children, see :func:`install_reaper`)."""
    stages = ([(signal.SIGTERM, grace)] if grace else []) + [(signal.SIGKILL, 10.0)]
    for sig, wait in stages:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_logged(cmd: Sequence[str], log: str, timeout: float,
               env: Optional[Dict[str, str]] = None, cwd: str = REPO,
               watch: Optional[Callable[[str, subprocess.Popen], None]] = None,
               grace: Optional[float] = None) -> Finished:
    """Run ``cmd`` with its output in ``log``; kill its group after ``timeout`` s.

    ``watch(line, proc)`` sees each output line as it comes (e.g. to send a
    signal at a given iteration); the log keeps every line either way.
    """
    os.makedirs(osp.dirname(osp.abspath(log)), exist_ok=True)
    start = time.monotonic()
    deadline = start + max(0.0, timeout)
    with open(log, 'w') as out:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env or harness_env(),
                                stdout=subprocess.PIPE if watch else out,
                                stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        LIVE.add(proc)
        try:
            if watch:
                _follow(proc, out, watch, deadline)
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(proc, grace)
            return Finished(None, time.monotonic() - start, log)
        except BaseException:
            kill_group(proc)
            raise
        finally:
            LIVE.discard(proc)
    return Finished(proc.returncode, time.monotonic() - start, log)


def _follow(proc: subprocess.Popen, out, watch, deadline: float) -> None:
    """Copy the child's output to ``out`` line by line, calling ``watch``."""
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(proc.args, 0)
        if not sel.select(timeout=min(left, 1.0)):
            continue
        line = proc.stdout.readline()
        if not line:
            return
        out.write(line)
        out.flush()
        watch(line, proc)


def install_reaper() -> None:
    """On SIGTERM (the parent's deadline) kill every live child's process group,
    then exit 143: children run in their own sessions, out of the parent's reach."""
    def reap(signum, frame):
        for proc in list(LIVE):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, reap)


def python_cmd(*args: str) -> List[str]:
    return [sys.executable, *args]


def read_tail(path: str, chars: int = 200_000) -> str:
    if not osp.isfile(path):
        return ''
    with open(path, errors='replace') as f:
        f.seek(max(0, osp.getsize(path) - chars))
        return f.read()


def first_error_line(text: str) -> Optional[str]:
    """The line that says what went wrong: a tool's ``prog: error: ...`` line or
    the exception line that ends the first traceback; else None."""
    lines = [line.rstrip() for line in text.splitlines()]
    in_traceback = False
    for line in lines:
        if line.startswith('Traceback (most recent call last)'):
            in_traceback = True
            continue
        if in_traceback and line and not line.startswith((' ', '\t')):
            if ERROR_RE.search(line) or ':' in line:
                return line[:500]
        if not in_traceback and ERROR_RE.search(line.strip()):
            return line.strip()[:500]
    return None


def describe_failure(finished: Finished, what: str) -> str:
    """One line for the report: why ``what`` failed."""
    if finished.timed_out:
        return f'{what} ran past its time limit ({finished.seconds:.0f} s) and was killed'
    line = first_error_line(read_tail(finished.log))
    code = finished.returncode
    reason = f'exit code {code}' if code is None or code >= 0 else \
        f'killed by {signal.Signals(-code).name}'
    return f'{what}: {line} ({reason}; log {finished.log})' if line else \
        f'{what}: {reason} (log {finished.log})'
