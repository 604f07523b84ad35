"""The SLURM and torchrun scripts without a cluster: syntax, portability, the
shared shell helpers (real bash, real argument handling)."""
import glob
import os.path as osp
import re
import subprocess

import pytest

from ..conftest import REPO

SBATCH = sorted(glob.glob(osp.join(REPO, 'slurm', '*.sbatch')))
SCRIPTS = SBATCH + [osp.join(REPO, 'slurm', 'common.sh'),
                    osp.join(REPO, 'tools', 'dist_train.sh'),
                    osp.join(REPO, 'tools', 'dist_test.sh')]
# resources every cluster understands; nothing naming a partition, account,
# QOS, reservation, constraint, mail address or path outside the repository
PORTABLE = {'job-name', 'nodes', 'ntasks', 'ntasks-per-node', 'gpus-per-node',
            'cpus-per-task', 'requeue', 'signal', 'open-mode', 'output'}


def test_all_four_scripts_exist():
    assert [osp.basename(p) for p in SBATCH] == [
        'clean.sbatch', 'export.sbatch', 'test.sbatch', 'train.sbatch']


@pytest.mark.parametrize('path', SCRIPTS, ids=osp.basename)
def test_scripts_parse_and_are_strict(path):
    out = subprocess.run(['bash', '-n', path], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = open(path).read()
    if not path.endswith('common.sh'):
        assert 'set -euo pipefail' in text


@pytest.mark.parametrize('path', SBATCH, ids=osp.basename)
def test_sbatch_headers_are_portable(path):
    text = open(path).read()
    options = re.findall(r'^#SBATCH\s+--([a-z-]+)', text, flags=re.M)
    assert options and set(options) <= PORTABLE, set(options) - PORTABLE
    assert not re.search(r'^#SBATCH\s+-[a-zA-Z]\b', text, flags=re.M)  # short forms
    assert '--requeue' in text and '--open-mode=append' in text
    if path.endswith('train.sbatch'):
        assert re.search(r'^#SBATCH --signal=USR1@\d+$', text, flags=re.M)


@pytest.mark.parametrize('path', SCRIPTS, ids=osp.basename)
def test_no_cluster_paths_or_secrets(path):
    text = open(path).read()
    for pattern in (r'/(home|scratch|gpfs|lustre|project|work|cluster)/',
                    r'WANDB_API_KEY\s*=', r'(api|secret)_?key\s*=', r'--account=\w',
                    r'--partition=\w'):
        assert not re.search(pattern, text, flags=re.I), pattern


def bash(snippet: str, env: dict) -> subprocess.CompletedProcess:
    script = f'set -euo pipefail; source {osp.join(REPO, "slurm", "common.sh")}; {snippet}'
    return subprocess.run(['bash', '-c', script], capture_output=True, text=True,
                          env={'PATH': '/usr/bin:/bin', **env}, cwd=REPO)


@pytest.mark.parametrize('args, env, expected', [
    ('configs/demo/demo.py', {}, 'work_dirs/demo'),
    ('configs/demo/demo.py --amp', {'WORK_DIR': 'w/x'}, 'w/x'),
    ('configs/demo/demo.py --work-dir a/b --amp', {'WORK_DIR': 'w/x'}, 'a/b'),
    ('configs/demo/demo.py --seed 1 --work-dir=c/d', {}, 'c/d'),
])
def test_work_dir(args, env, expected):
    out = bash(f'epic_work_dir {args}', env)
    assert out.returncode == 0 and out.stdout.strip() == expected, out.stderr


@pytest.mark.parametrize('env, rc, launcher', [
    ({}, 0, 'none'),
    ({'SLURM_NTASKS': '1', 'SLURM_JOB_NUM_NODES': '1', 'SLURM_GPUS_ON_NODE': '1'}, 0, 'none'),
    ({'SLURM_NTASKS': '16', 'SLURM_JOB_NUM_NODES': '2', 'SLURM_GPUS_ON_NODE': '8'}, 0, 'slurm'),
    ({'SLURM_NTASKS': '2', 'SLURM_JOB_NUM_NODES': '1'}, 0, 'slurm'),  # CPU, gloo
    ({'SLURM_NTASKS': '2', 'SLURM_JOB_NUM_NODES': '2', 'SLURM_GPUS_ON_NODE': '8'}, 2, ''),
])
def test_one_task_per_gpu(env, rc, launcher):
    out = bash('epic_launcher', env)
    assert out.returncode == rc and out.stdout.strip() == launcher, out.stderr
    if rc:
        assert 'one task per GPU' in out.stderr and '--ntasks-per-node=8' in out.stderr


def test_epic_repo_refuses_other_directories(tmp_path):
    out = bash('epic_repo', {'EPIC_REPO': str(tmp_path)})
    assert out.returncode == 2 and 'not the epic_mmaction repository' in out.stderr
    out = bash('epic_repo', {'SLURM_SUBMIT_DIR': REPO})
    assert out.returncode == 0 and out.stdout.strip() == REPO


def test_sbatch_without_arguments_prints_usage():
    for path in SBATCH:
        out = subprocess.run(['bash', path], capture_output=True, text=True, cwd=REPO)
        assert out.returncode == 2 and 'usage: sbatch' in out.stderr, out.stderr
