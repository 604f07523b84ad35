"""tests/toolrun.py runs a script as ``python SCRIPT ARGS`` would, in its own process."""
import os
import signal
import json
import subprocess
import textwrap

import pytest

from . import toolrun

SCRIPT = textwrap.dedent('''
    import json, os, sys
    import torch
    import epic_mmaction
    state = dict(argv=sys.argv, cwd=os.getcwd(), env=os.environ.get('PROBE'),
                 name=__name__, path0=sys.path[0], pid=os.getpid(),
                 threads=torch.get_num_threads(),
                 preloaded='mmaction.models' in sys.modules,
                 marked=getattr(epic_mmaction, 'MARK', None))
    epic_mmaction.MARK = 'set by an earlier run'
    print(json.dumps(state))
    print('to stderr', file=sys.stderr)
    if len(sys.argv) > 1 and sys.argv[1] == 'fail':
        raise RuntimeError('a bug')
    sys.exit(sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] == 'message' else 3)
''')


@pytest.fixture
def script(tmp_path):
    path = tmp_path / 'bin' / 'probe.py'
    path.parent.mkdir()
    path.write_text(SCRIPT)
    return str(path)


def test_a_run_is_its_own_process_with_its_arguments_environment_and_state(script, tmp_path):
    env = dict(os.environ, PROBE='x', OMP_NUM_THREADS='3')
    runs = [toolrun.run_tool(script, 'a', 2, env=env, cwd=str(tmp_path)) for _ in range(2)]
    for out in runs:
        assert out.returncode == 3 and out.stderr == 'to stderr\n', out
        state = json.loads(out.stdout)
        assert state['argv'] == [script, 'a', '2'] and state['cwd'] == str(tmp_path)
        assert state['env'] == 'x' and state['name'] == '__main__'
        assert state['path0'] == os.path.dirname(script)  # as `python SCRIPT` sets it
        assert state['threads'] == 3  # OMP_NUM_THREADS of this run, not the server's
        assert state['preloaded']  # forked after the stack was imported
        assert state['marked'] is None  # nothing left by the run before
        assert state['pid'] != os.getpid()
    assert json.loads(runs[0].stdout)['pid'] != json.loads(runs[1].stdout)['pid']


def test_exit_status_as_the_interpreter_gives_it(script):
    out = toolrun.run_tool(script, 'message')
    assert out.returncode == 1 and out.stderr == 'to stderr\nmessage\n'
    out = toolrun.run_tool(script, 'fail')
    assert out.returncode == 1
    assert 'Traceback' in out.stderr and out.stderr.rstrip().endswith('RuntimeError: a bug')


def test_signals_and_timeouts(tmp_path):
    sleeper = tmp_path / 'sleep.py'
    sleeper.write_text('import time\nprint("up", flush=True)\ntime.sleep(60)\n')
    proc = toolrun.ToolProcess(str(sleeper))
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM
    with pytest.raises(subprocess.TimeoutExpired):
        toolrun.run_tool(str(sleeper), timeout=1)

