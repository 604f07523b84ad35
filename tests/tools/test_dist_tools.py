"""tools/dist_train.sh and tools/dist_test.sh: 2 CPU processes through torchrun (gloo).

Each rank trains its own shard, losses are finite, only rank 0 writes
checkpoints; SIGTERM to torchrun (what a scheduler sends) checkpoints every
rank at the same iteration and ``--resume`` continues without repeating or
skipping a sample.
"""
import math
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from ..conftest import REPO
from ..slurm.helpers import (check_losses_finite, last_iter, list_ids, make_demo_data,
                             read_probe, trained_ids, write_probe_config)

EPOCHS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_env(data: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith('SLURM_')}
    env.update(EPIC_VIDEOS=data['EPIC_VIDEOS'], EPIC_LISTS=data['EPIC_LISTS'],
               CUDA_VISIBLE_DEVICES='', PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1',
               PYTHON=sys.executable, PYTHONPATH=REPO, PORT=str(free_port()))
    return env


@pytest.mark.slow
def test_dist_train_sigterm_resume_and_dist_test(tmp_path):
    data = make_demo_data(str(tmp_path / 'data'))
    config = write_probe_config(str(tmp_path / 'probe.py'), epochs=EPOCHS)
    work = str(tmp_path / 'work')
    train = [osp.join(REPO, 'tools', 'dist_train.sh'), config, '2', '--work-dir', work]
    log_path = tmp_path / 'train1.log'
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(train, cwd=REPO, env=run_env(data), stdout=log,
                                stderr=subprocess.STDOUT)
    deadline = time.time() + 240
    while True:
        rec = last_iter(work)
        if rec.get('epoch') == 0 and rec.get('batch', -1) >= 1:
            break
        assert proc.poll() is None, log_path.read_text()[-4000:]
        assert time.time() < deadline, log_path.read_text()[-4000:]
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # torchrun passes it to both ranks
    proc.wait(timeout=120)
    text = log_path.read_text()
    assert proc.returncode != 0, text[-4000:]
    with open(osp.join(work, 'last_checkpoint')) as f:
        stopped = f.read().strip()
    assert osp.basename(stopped).startswith('iter_') and osp.isfile(stopped), text[-4000:]
    assert 'SIGTERM received: saving' in text
    records = read_probe(work)
    assert sorted(records) == [0, 1]
    stop_iter = int(osp.basename(stopped)[5:-4])
    # both ranks stopped after the same iteration
    for rank in (0, 1):
        assert max(r['iter'] for r in records[rank] if r['event'] == 'iter') == stop_iter - 1

    out = subprocess.run(train + ['--resume'], cwd=REPO, env=run_env(data),
                         capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    train_ids = list_ids(data['EPIC_LISTS'])
    per_epoch = math.ceil(math.ceil(len(train_ids) / 2) / 2)
    stop_epoch = (stop_iter - 1) // per_epoch  # the epoch it stopped in (0-based)
    assert f'resumed epoch: {stop_epoch}, iter: {stop_iter}' in text
    records = read_probe(work)
    assert {r['world_size'] for recs in records.values() for r in recs} == {2}
    for epoch in range(EPOCHS):
        shards = [trained_ids(records[rank], epoch) for rank in (0, 1)]
        assert all(len(s) == len(set(s)) for s in shards), shards  # once per rank
        assert not set(shards[0]) & set(shards[1]), shards  # disjoint shards
        assert sorted(shards[0] + shards[1]) == sorted(train_ids)
    check_losses_finite(records)
    saved = {rank: sorted((r['epoch'], r['iter']) for r in recs if r['event'] == 'save')
             for rank, recs in records.items()}
    assert saved == {0: sorted([(stop_epoch, stop_iter), (1, per_epoch), (2, 2 * per_epoch)]),
                     1: []}, saved
    # the interruption checkpoint is pruned once a newer one is saved
    assert sorted(n for n in os.listdir(work) if n.endswith('.pth')) == [
        'epoch_1.pth', 'epoch_2.pth']
    assert f'removed the interruption checkpoint {stopped}' in text, text[-4000:]

    dump = str(tmp_path / 'val.npz')
    out = subprocess.run([osp.join(REPO, 'tools', 'dist_test.sh'), config,
                          osp.join(work, 'epoch_2.pth'), '2', '--work-dir', work,
                          '--dump', dump], cwd=REPO, env=run_env(data),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    with np.load(dump) as results:
        ids = results['narration_id'].tolist()
        assert sorted(ids) == sorted(list_ids(data['EPIC_LISTS'], 'val'))  # each once
        assert np.isfinite(results['verb_score']).all()
