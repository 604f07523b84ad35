"""The real slurm/*.sbatch scripts on a real (localhost) SLURM cluster, CPU mode.

Jobs train the synthetic demo config for a few iterations with a probe hook on
every rank (tests/slurm/shard_probe.py) and are signalled, requeued and
cancelled mid-epoch the ways a cluster does it; they must resume from their
checkpoint and train every sample of every epoch exactly once.
"""
import json
import math
import os
import os.path as osp
import time
import zipfile

import numpy as np
import pytest

from ..conftest import REPO
from .helpers import (check_losses_finite, last_iter, list_ids, read_probe,
                      trained_ids, write_probe_config)

CPU = ['--gpus-per-node=0']  # the scripts default to 1 GPU; the test cluster has none
EPOCHS = 2


def submit(cluster, env, out_dir, script, *args, opts=()):
    os.makedirs(out_dir, exist_ok=True)
    return cluster.sbatch(*CPU, f'--output={out_dir}/slurm-%j.out', *opts,
                          osp.join('slurm', script), *args, env=env, cwd=REPO)


def logs(out_dir, work_dir, job, lines=60) -> str:
    """The job's output files (the last ``lines`` of each; None: all)."""
    text, paths = [], [osp.join(out_dir, f'slurm-{job}.out')]
    if work_dir and osp.isdir(work_dir):
        paths += [osp.join(work_dir, n) for n in sorted(os.listdir(work_dir))
                  if n.startswith('slurm') and n.endswith(f'-{job}.out')]
    for path in paths:
        if osp.isfile(path):
            with open(path, errors='replace') as f:
                text.append(f'--- {path}\n' + ''.join(f.readlines()[-lines if lines else 0:]))
    return '\n'.join(text)


def wait_for_iteration(cluster, job, work_dir, out_dir, cond, timeout=240):
    """Wait until rank 0's latest probed iteration satisfies ``cond``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        rec = last_iter(work_dir)
        if rec and cond(rec):
            return rec
        state = cluster.job(job)['JobState']
        if state not in ('PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED'):
            pytest.fail(f'job {job} ended ({state}) before the iteration was reached\n'
                        + logs(out_dir, work_dir, job))
        time.sleep(0.2)
    pytest.fail(f'job {job}: iteration not reached in {timeout} s\n'
                + logs(out_dir, work_dir, job))


def wait_done(cluster, job, out_dir, work_dir, states=('COMPLETED',), timeout=300):
    final = ('COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY')
    try:
        info = cluster.wait_state(job, final, timeout)
    except TimeoutError as err:
        pytest.fail(f'{err}\n' + logs(out_dir, work_dir, job))
    assert info['JobState'] in states, f'job {job}: {info["JobState"]} ' \
        f'{info.get("ExitCode")}\n' + logs(out_dir, work_dir, job)
    return info


def check_epochs_complete(records, all_ids, epochs):
    """Every epoch trained each sample exactly once over all ranks, each rank
    its own disjoint shard."""
    for epoch in range(epochs):
        shards = {rank: trained_ids(recs, epoch) for rank, recs in records.items()}
        seen = []
        for rank, ids in shards.items():
            assert len(ids) == len(set(ids)), f'epoch {epoch + 1}: rank {rank} ' \
                f'trained samples twice: {sorted(ids)}'
            seen.extend(ids)
        assert len(seen) == len(set(seen)), f'epoch {epoch + 1}: ranks overlap {shards}'
        assert sorted(seen) == sorted(all_ids), f'epoch {epoch + 1}: trained ' \
            f'{sorted(seen)}, expected {sorted(all_ids)}'


def saves(records):
    return {rank: [(r['epoch'], r['iter']) for r in recs if r['event'] == 'save']
            for rank, recs in records.items()}


@pytest.fixture(scope='module')
def ddp_run(slurm_cluster, job_env, demo_data, tmp_path_factory):
    """2 tasks (gloo) through srun; SIGUSR1 to the job's steps mid-epoch, as
    ``--signal=USR1@300`` sends it before the time limit: the job checkpoints,
    requeues itself, resumes and finishes."""
    tmp = tmp_path_factory.mktemp('ddp')
    out_dir, work = str(tmp / 'out'), str(tmp / 'work')
    config = write_probe_config(str(tmp / 'ddp_probe.py'), epochs=EPOCHS)
    job = submit(slurm_cluster, job_env, out_dir, 'train.sbatch', config,
                 '--work-dir', work, opts=['--ntasks-per-node=2', '-c', '1'])
    stopped_at = wait_for_iteration(slurm_cluster, job, work, out_dir,
                                    lambda r: r['epoch'] == 0 and r['batch'] >= 1)
    slurm_cluster.run('scancel', '--signal=USR1', job)
    info = wait_done(slurm_cluster, job, out_dir, work)
    return dict(job=job, work=work, out=out_dir, info=info, stopped_at=stopped_at,
                config=config)


@pytest.mark.slow
@pytest.mark.xdist_group('slurm_ddp')  # one worker runs ddp_run, once
def test_train_sbatch_ddp_requeues_itself_on_time_limit_signal(ddp_run, demo_data):
    work, job = ddp_run['work'], ddp_run['job']
    info = ddp_run['info']
    log = logs(ddp_run['out'], work, job, lines=None)
    assert info['Restarts'] == '1' and info['ExitCode'] == '0:0', log
    records = read_probe(work)
    assert sorted(records) == [0, 1], log
    assert {r['world_size'] for recs in records.values() for r in recs} == {2}
    # two runs per rank: the first stopped by the signal, the requeued one resumed
    starts = [r for r in records[0] if r['event'] == 'start']
    assert len(starts) == 2 and starts[1]['resumed_iter'] > 0, starts
    stop_iter = starts[1]['resumed_iter']
    assert stop_iter >= ddp_run['stopped_at']['iter'] + 1
    check_epochs_complete(records, list_ids(demo_data['EPIC_LISTS']), EPOCHS)
    check_losses_finite(records)
    # checkpoints are written by rank 0 only, each once
    saved = saves(records)
    assert saved[1] == [], saved
    per_epoch = math.ceil(math.ceil(len(list_ids(demo_data['EPIC_LISTS'])) / 2) / 2)
    stop_epoch = (stop_iter - 1) // per_epoch  # the epoch it stopped in (0-based)
    assert sorted(saved[0]) == sorted([(stop_epoch, stop_iter), (1, per_epoch),
                                       (2, 2 * per_epoch)]), saved
    # the interruption checkpoint is pruned once a newer one is saved
    files = sorted(n for n in os.listdir(work) if n.endswith('.pth'))
    assert files == ['epoch_1.pth', 'epoch_2.pth'], files
    assert f'removed the interruption checkpoint {osp.join(work, f"iter_{stop_iter}.pth")}' \
        in log, log
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work, 'epoch_2.pth')
    for text in ('SIGUSR1 received: saving', f'requeueing job {job}',
                 f'resumed epoch: {stop_epoch}, iter: {stop_iter}', 'skipping the',
                 'training finished'):
        assert text in log, f'{text!r} not in the log\n{log}'


def start_runs(work):
    """Rank 0's 'start' records: one per run of train.py in the work dir."""
    return [r for r in read_probe(work).get(0, []) if r['event'] == 'start']


def one_task_job(slurm_cluster, job_env, tmp_path):
    """A one-task training job (2 epochs, the probe): (job, env, config, out dir,
    work dir)."""
    out_dir, work = str(tmp_path / 'out'), str(tmp_path / 'work')
    config = write_probe_config(str(tmp_path / 'probe.py'), epochs=EPOCHS)
    env = dict(job_env, WORK_DIR=work)
    job = submit(slurm_cluster, env, out_dir, 'train.sbatch', config, opts=['-c', '2'])
    return job, env, config, out_dir, work


def check_finished(work, demo_data):
    """Every sample trained once per epoch over all runs; the last checkpoint is
    the final epoch's."""
    records = read_probe(work)
    assert sorted(records) == [0]
    check_epochs_complete(records, list_ids(demo_data['EPIC_LISTS']), EPOCHS)
    check_losses_finite(records)
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work, 'epoch_2.pth')



def check_requeued_once(slurm_cluster, job, out_dir, work, demo_data, texts):
    """The job ends after one requeue: a second run resumed mid-training and
    finished, the log has ``texts``, and every sample trained once per epoch."""
    info = wait_done(slurm_cluster, job, out_dir, work)
    log = logs(out_dir, work, job, lines=None)
    assert info['Restarts'] == '1', log
    starts = start_runs(work)
    assert len(starts) == 2 and starts[1]['resumed_iter'] > 0, log
    for text in (*texts, 'training finished'):
        assert text in log, f'{text!r} not in the log\n{log}'
    check_finished(work, demo_data)

# one interruption per test: each test's two runs stay well under a minute and a half
@pytest.mark.slow
def test_train_sbatch_requeues_itself_on_a_signal_to_the_batch_shell(slurm_cluster, job_env,
                                                                     demo_data, tmp_path):
    """USR1 to the batch shell only (``--signal=B:USR1@...``): forwarded to the
    training, checkpoint, self-requeue, resumed run finishes."""
    job, _, _, out_dir, work = one_task_job(slurm_cluster, job_env, tmp_path)
    wait_for_iteration(slurm_cluster, job, work, out_dir, lambda r: r['batch'] >= 1)
    slurm_cluster.run('scancel', '--batch', '--signal=USR1', job)
    check_requeued_once(slurm_cluster, job, out_dir, work, demo_data,
                        ('SIGUSR1 received: saving', f'requeueing job {job}'))


@pytest.mark.slow
def test_train_sbatch_checkpoints_when_preempted_and_slurm_requeues_it(slurm_cluster, job_env,
                                                                       demo_data, tmp_path):
    """``scontrol requeue`` (SIGTERM, as preemption): checkpoint, SLURM
    requeues the job, the requeued run resumes and finishes."""
    job, _, _, out_dir, work = one_task_job(slurm_cluster, job_env, tmp_path)
    wait_for_iteration(slurm_cluster, job, work, out_dir, lambda r: r['batch'] >= 1)
    slurm_cluster.run('scontrol', 'requeue', job)
    check_requeued_once(slurm_cluster, job, out_dir, work, demo_data,
                        ('SIGTERM received: saving', 'stopped on SIGTERM with a checkpoint'))


@pytest.mark.slow
def test_train_sbatch_cancelled_job_resumes_when_submitted_again(slurm_cluster, job_env,
                                                                 demo_data, tmp_path):
    """``scancel`` in the second epoch: checkpoint, cancelled; the same sbatch
    line again resumes from that checkpoint and finishes."""
    job, env, config, out_dir, work = one_task_job(slurm_cluster, job_env, tmp_path)
    wait_for_iteration(slurm_cluster, job, work, out_dir, lambda r: r['epoch'] == 1)
    slurm_cluster.run('scancel', job)
    info = wait_done(slurm_cluster, job, out_dir, work, states=('CANCELLED',))
    log = logs(out_dir, work, job, lines=None)
    assert info['Restarts'] == '0', log
    with open(osp.join(work, 'last_checkpoint')) as f:
        cancelled_at = f.read().strip()
    assert osp.basename(cancelled_at).startswith('iter_') and osp.isfile(cancelled_at), log
    assert 'SIGTERM received: saving' in log, log

    job2 = submit(slurm_cluster, env, out_dir, 'train.sbatch', config, opts=['-c', '2'])
    wait_done(slurm_cluster, job2, out_dir, work)
    log2 = logs(out_dir, work, job2, lines=None)
    starts = start_runs(work)
    stop_iter = int(osp.basename(cancelled_at)[len('iter_'):-len('.pth')])
    assert len(starts) == 2 and starts[1]['resumed_iter'] == stop_iter, log2
    assert f'resumed epoch: 1, iter: {stop_iter}' in log2, log2
    check_finished(work, demo_data)


@pytest.mark.slow
def test_train_sbatch_requeues_a_job_signalled_during_start_up(slurm_cluster, job_env,
                                                               demo_data, tmp_path):
    """The time-limit warning while the job still loads its config (held there
    by tests/slurm/startup_probe.py): exit 3, the job requeues itself, the
    requeued run starts from scratch and finishes."""
    out_dir, work, hold = str(tmp_path / 'out'), str(tmp_path / 'work'), str(tmp_path / 'hold')
    config = write_probe_config(str(tmp_path / 'probe.py'), epochs=1, num_workers=0,
                                extra_imports=['tests.slurm.startup_probe'])
    env = dict(job_env, EPIC_TEST_STARTUP_PAUSE=hold)
    job = submit(slurm_cluster, env, out_dir, 'train.sbatch', config, '--work-dir', work,
                 opts=['-c', '1'])
    deadline = time.time() + 240
    while not osp.exists(osp.join(hold, 'loading')):
        assert time.time() < deadline, logs(out_dir, work, job)
        assert slurm_cluster.job(job)['JobState'] in (
            'PENDING', 'RUNNING', 'CONFIGURING'), logs(out_dir, work, job)
        time.sleep(0.2)
    slurm_cluster.run('scancel', '--signal=USR1', job)
    while 'before training started' not in logs(out_dir, work, job, lines=None):
        assert time.time() < deadline, logs(out_dir, work, job)
        time.sleep(0.2)
    open(osp.join(hold, 'release'), 'w').close()  # the requeued run goes through
    info = wait_done(slurm_cluster, job, out_dir, work)
    log = logs(out_dir, work, job, lines=None)
    assert info['Restarts'] == '1' and info['ExitCode'] == '0:0', log
    for text in ('SIGUSR1 before training started (nothing to save yet): exiting with code 3',
                 f'requeueing job {job}', 'starting from the beginning', 'training finished'):
        assert text in log, f'{text!r} not in the log\n{log}'
    starts = [r for r in read_probe(work)[0] if r['event'] == 'start']
    assert [r['resumed_iter'] for r in starts] == [0], starts  # one run trained
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == ['epoch_1.pth']


@pytest.mark.slow
@pytest.mark.xdist_group('slurm_ddp')  # one worker runs ddp_run, once
def test_test_and_export_sbatch(slurm_cluster, job_env, demo_data, ddp_run, tmp_path):
    """test.sbatch with 2 tasks (--dump) and export.sbatch on the trained model."""
    out_dir = str(tmp_path / 'out')
    work = ddp_run['work']
    ckpt = osp.join(work, 'epoch_2.pth')
    dump = str(tmp_path / 'val_results.npz')
    job = submit(slurm_cluster, job_env, out_dir, 'test.sbatch', ddp_run['config'], ckpt,
                 '--work-dir', work, '--dump', dump,
                 opts=['--ntasks-per-node=2', '-c', '1'])
    wait_done(slurm_cluster, job, out_dir, work)
    val_ids = list_ids(demo_data['EPIC_LISTS'], 'val')
    with np.load(dump) as results:
        assert sorted(results['narration_id'].tolist()) == sorted(val_ids)
        assert np.isfinite(results['verb_score']).all()
    assert 'EPIC-KITCHENS-100 action recognition' in logs(out_dir, work, job, lines=None)

    submission = str(tmp_path / 'submission')
    env = dict(job_env, OUT_DIR=submission,
               TEST_LIST=osp.join(demo_data['EPIC_LISTS'], 'epic100_val_clean.txt'),
               EXPORT_ARGS='--sls-pt 0 --sls-tl 1 --sls-td 2 --num-verbs 6 --num-nouns 12')
    split_csv = osp.join(demo_data['root'], 'EPIC_100_validation.csv')
    job = submit(slurm_cluster, env, out_dir, 'export.sbatch', ddp_run['config'], ckpt,
                 split_csv, '--work-dir', work, opts=['-c', '2'])
    wait_done(slurm_cluster, job, out_dir, work)
    with zipfile.ZipFile(osp.join(submission, 'test.zip')) as z:
        exported = json.loads(z.read('test.json'))
    assert sorted(exported['results']) == sorted(val_ids)
    assert exported['sls_pt'] == 0 and exported['sls_td'] == 2
    assert osp.isfile(osp.join(submission, 'submission.pt'))


@pytest.mark.slow
def test_clean_sbatch(slurm_cluster, job_env, demo_data, tmp_path):
    lists = tmp_path / 'lists'
    lists.mkdir()
    for split in ('train', 'val'):
        src = osp.join(demo_data['EPIC_LISTS'], f'epic100_{split}.txt')
        (lists / f'epic100_{split}.txt').write_text(open(src).read())
    out_dir = str(tmp_path / 'out')
    env = dict(job_env, SPLITS='val', LOG_DIR=str(tmp_path / 'logs'))
    job = submit(slurm_cluster, env, out_dir, 'clean.sbatch', str(lists),
                 demo_data['EPIC_VIDEOS'], opts=['-c', '2'])
    wait_done(slurm_cluster, job, out_dir, str(tmp_path / 'logs'))
    assert list_ids(str(lists), 'val') == list_ids(demo_data['EPIC_LISTS'], 'val')
    with open(lists / 'epic100_val_clean.report.json') as f:
        report = json.load(f)
    assert report['bad_videos'] == [] and report['dropped_segments'] == []
    assert not (lists / 'epic100_train_clean.txt').exists()  # SPLITS=val only
    with open(tmp_path / 'logs' / f'slurm-{job}.out') as f:
        assert 'clean.sbatch: done (val)' in f.read()
