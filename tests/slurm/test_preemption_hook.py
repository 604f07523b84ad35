"""PreemptionCheckpointHook without a scheduler: a real signal during validation
inside training (sent by the test config's probe hook at a fixed batch, so the
moment is deterministic), the checkpoint, exit status 3, and the resumed run."""
import os
import os.path as osp
import subprocess
import sys

import pytest

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
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 3, log[-4000:]
    epoch_1 = osp.join(work, 'epoch_1.pth')
    # CheckpointHook had saved epoch 1 before validating: not saved twice
    assert f'SIGUSR1 received: {epoch_1} is saved (validation after epoch 1)' in log
    assert 'Traceback' not in log and 'Exception ignored' not in log, log[-4000:]
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read().strip() == epoch_1
    assert not osp.exists(osp.join(work, 'epoch_2.pth'))

    out = subprocess.run(cmd + ['--resume'], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'resumed epoch: 1, iter: 9' in log
    records = read_probe(work)[0]
    assert [(r['epoch'], r['iter']) for r in records if r['event'] == 'save'] == [(1, 9), (2, 18)]
    for epoch in (0, 1):
        ids = trained_ids(records, epoch)
        assert sorted(ids) == sorted(list_ids(data['EPIC_LISTS']))  # each sample once
    check_losses_finite({0: records})
