"""The resume command a stopped run prints: the run's own arguments, with its
``--resume``/``--work-dir`` (every form argparse accepts) replaced."""
import os.path as osp
import shlex
import sys

import pytest

from epic_mmaction.utils.interrupts import resume_command

from ..conftest import REPO, load_tool

TOOL = osp.join(REPO, 'tools', 'train.py')


@pytest.mark.parametrize('argv', [
    ['cfg.py'],
    ['cfg.py', '--resume'],
    ['cfg.py', '--resume', 'work/epoch_3.pth'],
    ['cfg.py', '--resume=work/epoch_3.pth', '--work-dir=old'],
    ['--res', 'work/epoch_3.pth', 'cfg.py', '--work-dir', 'old'],
    ['cfg.py', '--resume', '--work-dir', 'old', '--local-rank=0'],
])
def test_resume_command_replaces_resume_and_work_dir(argv, monkeypatch):
    monkeypatch.chdir(REPO)
    words = shlex.split(resume_command(TOOL, argv, 'work dir/x', 'none'))
    assert words[0] in ('python', sys.executable)
    assert words[1:] == ['tools/train.py', 'cfg.py', '--work-dir', 'work dir/x', '--resume']
    # what tools/train.py makes of it: this work dir's last checkpoint
    args = load_tool('train').parse_args(words[2:])
    assert (args.config, args.work_dir, args.resume) == ('cfg.py', 'work dir/x', 'auto')


def test_resume_command_keeps_the_other_options(monkeypatch):
    monkeypatch.chdir(REPO)
    argv = ['cfg.py', '--amp', '--cfg-options', 'train_cfg.max_epochs=5', 'a.b=[1, 2]']
    monkeypatch.delenv('LOCAL_WORLD_SIZE', raising=False)
    words = shlex.split(resume_command(TOOL, argv, 'w', 'slurm'))
    # distributed: the arguments to relaunch with the same launcher
    assert words == ['tools/train.py', *argv, '--work-dir', 'w', '--resume']
    monkeypatch.setenv('LOCAL_WORLD_SIZE', '2')
    monkeypatch.setenv('WORLD_SIZE', '2')  # one node: torchrun's own line
    words = shlex.split(resume_command(TOOL, argv + ['--launcher', 'pytorch'], 'w', 'pytorch'))
    assert words == ['torchrun', '--nproc-per-node=2', 'tools/train.py', *argv,
                     '--launcher', 'pytorch', '--work-dir', 'w', '--resume']
