"""tools/train.py killed mid-epoch resumes from its last checkpoint (torch >= 2.6)."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest

from epic_mmaction.annotations.builder import BuildOptions, build_annotations
from epic_mmaction.annotations.listfile import read_list, write_list

from ..conftest import REPO

CONFIG = osp.join(REPO, 'configs', 'demo', 'x3d_s_1xb16-4x6x1-5e_synthetic-epic100-rgb-verbnoun.py')


@pytest.mark.slow
def test_killed_run_resumes_from_last_checkpoint(small_epic, tmp_path):
    root, _, _ = small_epic
    lists = tmp_path / 'lists'
    build_annotations(BuildOptions(annotations_dir=root, out_dir=str(lists)))
    train = read_list(str(lists / 'epic100_train.txt'))[:12]
    for split in ('train', 'val', 'test'):
        write_list(str(lists / f'epic100_{split}_clean.txt'), train)
    env = {**os.environ, 'EPIC_VIDEOS': osp.join(root, 'videos'),
           'EPIC_LISTS': str(lists), 'CUDA_VISIBLE_DEVICES': '', 'PYTHONUNBUFFERED': '1'}
    work = tmp_path / 'work'
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), CONFIG, '--work-dir',
           str(work), '--cfg-options', 'train_cfg.max_epochs=3', 'train_cfg.val_interval=1',
           'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
           'train_dataloader.batch_size=2', 'train_dataloader.num_workers=1']
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    seen = []
    deadline = time.time() + 600
    for line in proc.stdout:
        seen.append(line)
        if 'Epoch(train)  [2][2/6]' in line or 'Epoch(train) [2][2/6]' in line:
            proc.send_signal(signal.SIGKILL)  # mid-epoch, no chance to clean up
            break
        assert time.time() < deadline, ''.join(seen[-30:])
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, ''.join(seen[-30:])
    assert (work / 'epoch_1.pth').exists() and not (work / 'epoch_2.pth').exists()

    out = subprocess.run(cmd + ['--resume'], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=900)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    assert 'Unsupported global' not in log
    assert 'resumed epoch: 1' in log
    assert 'Epoch(train) [1]' not in log.replace('  ', ' ')  # epoch 1 not trained again
    assert 'Epoch(train) [3][6/6]' in log.replace('  ', ' ')
    assert (work / 'epoch_3.pth').exists()
