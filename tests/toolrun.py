"""Run ``tools/*.py`` in a new process that starts with the stack imported.

A fresh ``python tools/train.py`` spends ~4 s of CPU importing torch,
mmengine, mmaction (scipy, transformers) and the plugin before it reads its
arguments; the suite starts such tools ~170 times. :func:`run_tool` instead
forks each run from a multiprocessing fork server that imported them once
(per xdist worker): every run is still its own process, with its own
arguments, environment, working directory, stdout/stderr, exit code and
module state (nothing is shared between runs or with the test), and runs the
script as ``__main__`` the way ``python tools/x.py`` does.

Use it for tests of what a tool does. Tests of how a process starts (import
cost, signals during start-up, ``--help`` without torch) and runs whose
output is read while they run keep ``subprocess`` with ``sys.executable``.
"""
import atexit
import multiprocessing
import os
import os.path as osp
import runpy
import signal
import subprocess
import sys
import tempfile
import traceback
from typing import Dict, Optional, Tuple

from .conftest import REPO

_context = None


def _server_context():
    global _context
    if _context is None:
        _context = multiprocessing.get_context('forkserver')
        _context.set_forkserver_preload(['tests._toolrun_preload'])
    return _context


def _exit_code(code) -> int:
    """``sys.exit(code)`` as the interpreter turns it into an exit status."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(script: str, args: list, env: Dict[str, str], cwd: str, out: str,
           err: str) -> None:
    """In the forked process: become ``python SCRIPT ARGS`` and exit as it would."""
    for path, fd in ((out, 1), (err, 2)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(handle, fd)
        os.close(handle)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    if env.get('PYTHONUNBUFFERED'):
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    import torch  # the server read OMP_NUM_THREADS at start-up; this run may differ
    threads = env.get('OMP_NUM_THREADS', '')
    torch.set_num_threads(int(threads) if threads.isdigit() and int(threads) > 0
                          else len(os.sched_getaffinity(0)))
    sys.argv = [script, *args]
    sys.path.insert(0, osp.dirname(osp.abspath(script)))  # as python SCRIPT does
    code = 0
    try:
        runpy.run_path(script, run_name='__main__')
    except SystemExit as e:
        code = _exit_code(e.code)
    except BaseException:  # noqa: B036  (what the interpreter does with it)
        traceback.print_exc()
        code = 1
    try:
        atexit._run_exitfuncs()  # the interpreter runs them before it exits
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class ToolProcess:
    """A started tool, with the part of ``subprocess.Popen`` the tests use:
    ``pid``, ``poll``, ``send_signal``, ``kill``, ``communicate`` and
    ``returncode`` (``-N`` for a process ended by signal N)."""

    def __init__(self, script: str, *args, env: Optional[Dict[str, str]] = None,
                 cwd: str = REPO) -> None:
        if not osp.isabs(script) and not osp.exists(osp.join(cwd, script)):
            script = osp.join(REPO, 'tools', script)
        self.args = [sys.executable, script, *map(str, args)]
        self._tmp = tempfile.TemporaryDirectory(prefix='toolrun_')
        self._out = osp.join(self._tmp.name, 'stdout')
        self._err = osp.join(self._tmp.name, 'stderr')
        env = dict(os.environ if env is None else env)
        self._proc = _server_context().Process(
            target=_child, args=(script, self.args[2:], env, str(cwd), self._out, self._err))
        self._proc.start()
        self.pid = self._proc.pid

    @property
    def returncode(self) -> Optional[int]:
        return self._proc.exitcode

    def poll(self) -> Optional[int]:
        return self._proc.exitcode

    def send_signal(self, sig: int) -> None:
        if self._proc.exitcode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: Optional[float] = None) -> Tuple[str, str]:
        """Wait for the end; (stdout, stderr) as text. On a timeout the process
        is killed and ``subprocess.TimeoutExpired`` raised (``subprocess.run``'s
        behaviour)."""
        self._proc.join(timeout)
        if self._proc.exitcode is None:
            self.kill()
            self._proc.join()
            raise subprocess.TimeoutExpired(self.args, timeout, *self._output())
        return self._output()

    def _output(self) -> Tuple[str, str]:
        try:
            return _read(self._out), _read(self._err)
        finally:
            self._tmp.cleanup()


def run_tool(script: str, *args, env: Optional[Dict[str, str]] = None, cwd: str = REPO,
             timeout: float = 900) -> subprocess.CompletedProcess:
    """``subprocess.run([python, script, *args], capture_output=True, text=True)``,
    forked from the fork server; ``script``: a path, or a name in ``tools/``."""
    proc = ToolProcess(script, *args, env=env, cwd=cwd)
    stdout, stderr = proc.communicate(timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _read(path: str) -> str:
    if not osp.exists(path):  # the process died before it began the script
        return ''
    with open(path, encoding='utf-8', errors='replace') as f:
        return f.read()
