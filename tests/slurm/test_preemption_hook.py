"""PreemptionCheckpointHook without a scheduler: a real signal during validation
inside training (sent by the test config's probe hook at a fixed batch, so the
moment is deterministic), the checkpoint, exit status 3, and the resumed run;
Ctrl-C (SIGINT to the process group, once and twice) while the probe holds the
run at a fixed batch; SIGTERM/SIGUSR1 during start-up; pruning of interruption
checkpoints over several interruptions."""
import os
import os.path as osp
import shlex
import signal
import subprocess
import sys
import time

import pytest

from .. import toolrun
from ..conftest import REPO
from .helpers import (check_losses_finite, list_ids, read_probe, trained_ids,
                      write_probe_config)


@pytest.mark.slow
def test_signal_during_validation_stops_with_the_epoch_checkpoint(demo_data, tmp_path):
    data = {k: demo_data[k] for k in ('EPIC_VIDEOS', 'EPIC_LISTS')}
    config = write_probe_config(str(tmp_path / 'probe.py'), epochs=2, val_interval=1,
                                val_batch_size=1, val_workers=1,
                                signal_at=dict(stage='val', epoch=1, batch=2,
                                               signal='SIGUSR1'))
    work = str(tmp_path / 'work')
    env = {**os.environ, **data, 'CUDA_VISIBLE_DEVICES': '', 'OMP_NUM_THREADS': '1',
           'PYTHONPATH': REPO}
    cmd = ['train.py', config, '--work-dir', work]
    out = toolrun.run_tool(*cmd, env=env, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 3, log[-4000:]
    epoch_1 = osp.join(work, 'epoch_1.pth')
    # CheckpointHook had saved epoch 1 before validating: not saved twice
    assert f'SIGUSR1 received: {epoch_1} is saved (validation after epoch 1)' in log
    assert 'Traceback' not in log and 'Exception ignored' not in log, log[-4000:]
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == epoch_1
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))

    out = toolrun.run_tool(*cmd, '--resume', env=env, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'resumed epoch: 1, iter: 9' in log
    records = read_probe(work)[0]
    assert [(r['epoch'], r['iter']) for r in records if r['event'] == 'save'] == [(1, 9), (2, 18)]
    for epoch in (0, 1):
        ids = trained_ids(records, epoch)
        assert sorted(ids) == sorted(list_ids(data['EPIC_LISTS']))  # each sample once
    check_losses_finite({0: records})


# -- Ctrl-C, start-up signals, pruning ----------------------------------------
def _env(demo_data, **extra):
    data = {k: demo_data[k] for k in ('EPIC_VIDEOS', 'EPIC_LISTS')}
    return {**os.environ, **data, 'CUDA_VISIBLE_DEVICES': '', 'OMP_NUM_THREADS': '1',
            'PYTHONPATH': REPO, 'PYTHONUNBUFFERED': '1', **extra}


def _start(cmd, env, log_path):
    """The run in its own process group, as a terminal's foreground job: a
    ``killpg`` reaches its data loader workers too, as Ctrl-C does."""
    log = open(log_path, 'w')
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    log.close()
    return proc


def _wait_for(proc, log_path, what, path=None, text=None, timeout=600):
    """Until ``path`` exists or ``text`` is in the log (the run must not end first)."""
    deadline = time.time() + timeout
    while True:
        with open(log_path) as f:
            log = f.read()
        if (path and osp.exists(path)) or (text and text in log):
            return log
        assert proc.poll() is None, f'the run ended before {what}:\n{log[-4000:]}'
        assert time.time() < deadline, f'no {what} in {timeout} s:\n{log[-4000:]}'
        time.sleep(0.1)


def _finish(proc, log_path, timeout=600):
    proc.wait(timeout=timeout)
    with open(log_path) as f:
        return f.read()


def _checkpoints(work):
    return sorted(n for n in os.listdir(work) if n.endswith('.pth') or n.endswith('.tmp'))


@pytest.mark.slow
def test_first_ctrl_c_saves_a_checkpoint_and_prints_the_resume_command(demo_data, tmp_path):
    # held after the 3rd batch of epoch 1 while the test presses "Ctrl-C"
    config = write_probe_config(str(tmp_path / 'probe.py'), epochs=1, num_workers=1,
                                pause_at=dict(stage='train', epoch=0, batch=2))
    work = str(tmp_path / 'work')
    env = _env(demo_data)
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work,
           '--cfg-options', 'train_cfg.max_epochs=1']
    log_path = str(tmp_path / 'run1.log')
    proc = _start(cmd, env, log_path)
    _wait_for(proc, log_path, 'pause', path=osp.join(work, 'probe', 'paused'))
    os.killpg(proc.pid, signal.SIGINT)  # the whole group: workers must survive it
    _wait_for(proc, log_path, 'Ctrl-C notice', text='Ctrl-C: saving a checkpoint')
    open(osp.join(work, 'probe', 'release'), 'w').close()
    log = _finish(proc, log_path)
    assert proc.returncode == 3, log[-4000:]
    iter_3 = osp.join(work, 'iter_3.pth')
    assert f'SIGINT (Ctrl-C) received: saving {iter_3} (epoch 1, batch 3, iteration 3)' in log
    assert 'Traceback' not in log and 'KeyboardInterrupt' not in log, log[-4000:]
    assert _checkpoints(work) == ['iter_3.pth']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == iter_3

    # the printed command, as printed, continues from iteration 3
    resume = [line.split('Resume with: ', 1)[1] for line in log.splitlines()
              if 'Resume with: ' in line]
    assert len(resume) == 1, log[-4000:]
    words = shlex.split(resume[0])
    assert words[-3:] == ['--work-dir', work, '--resume'], resume[0]
    assert words[words.index(config) + 1:words.index(config) + 3] == \
        ['--cfg-options', 'train_cfg.max_epochs=1'], resume[0]
    if words[0] == 'python':
        words[0] = sys.executable  # the test's PATH may lack the interpreter
    out = subprocess.run(words, cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'resumed epoch: 0, iter: 3' in log
    records = read_probe(work)[0]
    assert [r['iter'] for r in records if r['event'] == 'iter'] == list(range(9))
    assert sorted(trained_ids(records, 0)) == sorted(list_ids(demo_data['EPIC_LISTS']))
    # epoch_1.pth supersedes the interruption checkpoint (max_keep_ckpts=5)
    assert f'removed the interruption checkpoint {iter_3}' in log
    assert _checkpoints(work) == ['epoch_1.pth']


@pytest.mark.slow
def test_second_ctrl_c_aborts_without_a_checkpoint(demo_data, tmp_path):
    config = write_probe_config(str(tmp_path / 'probe.py'), epochs=1, num_workers=1,
                                pause_at=dict(stage='train', epoch=0, batch=1))
    work = str(tmp_path / 'work')
    log_path = str(tmp_path / 'run.log')
    proc = _start([sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
                   '--work-dir', work], _env(demo_data), log_path)
    _wait_for(proc, log_path, 'pause', path=osp.join(work, 'probe', 'paused'))
    os.killpg(proc.pid, signal.SIGINT)
    _wait_for(proc, log_path, 'Ctrl-C notice', text='Ctrl-C: saving a checkpoint')
    os.killpg(proc.pid, signal.SIGINT)  # before the iteration ends (the run is held)
    log = _finish(proc, log_path)
    assert proc.returncode == 130, log[-4000:]
    assert 'Ctrl-C again: aborting without a checkpoint' in log
    assert 'train.py: interrupted by Ctrl-C; to continue from the last saved checkpoint' \
        ' (if any): ' in log
    assert 'Traceback' not in log, log[-4000:]
    assert _checkpoints(work) == [] and not osp.exists(osp.join(work, 'last_checkpoint'))


@pytest.mark.slow
@pytest.mark.parametrize('stage,signame', [('config', 'SIGTERM'), ('before_run', 'SIGUSR1')])
def test_signal_during_startup_exits_resumable(demo_data, tmp_path, stage, signame):
    """SLURM preempting a job while it loads its config, or after the runner is
    built but before training: exit 3 (train.sbatch requeues), nothing saved."""
    hold = str(tmp_path / 'hold')
    work = str(tmp_path / 'work')
    if stage == 'config':  # held while custom_imports load
        config = write_probe_config(str(tmp_path / 'probe.py'), epochs=1,
                                    extra_imports=['tests.slurm.startup_probe'])
        env, marker = _env(demo_data, EPIC_TEST_STARTUP_PAUSE=hold), osp.join(hold, 'loading')
    else:  # held in ShardProbeHook.before_run: model built, checkpoint not loaded
        config = write_probe_config(str(tmp_path / 'probe.py'), epochs=1,
                                    pause_at=dict(stage='before_run'))
        env, marker = _env(demo_data), osp.join(work, 'probe', 'paused')
    log_path = str(tmp_path / 'run.log')
    proc = _start([sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
                   '--work-dir', work, '--resume'], env, log_path)
    _wait_for(proc, log_path, 'start-up hold', path=marker)
    os.kill(proc.pid, getattr(signal, signame))
    log = _finish(proc, log_path)
    assert proc.returncode == 3, log[-4000:]
    assert f'train.py: {signame} before training started (nothing to save yet): ' \
        'exiting with code 3' in log
    assert 'Traceback' not in log, log[-4000:]
    assert not osp.isdir(work) or (_checkpoints(work) == [] and
                                   not osp.exists(osp.join(work, 'last_checkpoint')))


@pytest.mark.slow
def test_interruption_checkpoints_are_pruned(demo_data, tmp_path):
    """Three runs in one work dir (max_keep_ckpts=1): two interruptions, then
    to the end; each newer checkpoint removes the superseded interruption one."""
    work = str(tmp_path / 'work')
    env = _env(demo_data)

    def run(name, **probe):
        config = write_probe_config(str(tmp_path / f'{name}.py'), epochs=2,
                                    num_workers=0, max_keep_ckpts=1, **probe)
        out = toolrun.run_tool('train.py', config, '--work-dir', work, '--resume', env=env,
                               timeout=600)
        return out.returncode, out.stdout + out.stderr

    def last():
        with open(osp.join(work, 'last_checkpoint')) as f:
            return osp.basename(f.read().strip())

    rc, log = run('first', signal_at=dict(stage='train', epoch=0, batch=2, signal='SIGUSR1'))
    assert rc == 3, log[-4000:]
    assert _checkpoints(work) == ['iter_3.pth'] and last() == 'iter_3.pth'
    # resumed at batch 3: the 3rd batch of the rest is iteration 6
    rc, log = run('second', signal_at=dict(stage='train', epoch=0, batch=2, signal='SIGUSR1'))
    assert rc == 3, log[-4000:]
    assert _checkpoints(work) == ['iter_6.pth'] and last() == 'iter_6.pth'
    rc, log = run('third')
    assert rc == 0, log[-4000:]
    assert _checkpoints(work) == ['epoch_2.pth'] and last() == 'epoch_2.pth'
    saves = [(r['epoch'], r['iter']) for r in read_probe(work)[0] if r['event'] == 'save']
    assert saves == [(0, 3), (0, 6), (1, 9), (2, 18)]
