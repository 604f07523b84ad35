"""A real SLURM cluster on localhost for the tests, started once per test
process (each xdist worker that runs SLURM tests starts its own: clusters
do not share ports, state or munge sockets).

On CI (CI=true) a cluster that cannot start fails the tests with the reason;
elsewhere, without SLURM installed, they are skipped with the reason.
"""
import os
import os.path as osp
import shutil
import sys

import pytest

from ..conftest import REPO
from .cluster import ClusterError, LocalSlurmCluster
from .helpers import make_demo_data


@pytest.fixture(scope='session')
def slurm_cluster():
    try:
        cluster = LocalSlurmCluster()
    except ClusterError as err:  # the programs are not installed
        if os.environ.get('CI'):
            pytest.fail(f'SLURM is required on CI but {err}', pytrace=False)
        pytest.skip(f'SLURM not installed ({err})')
    try:
        cluster.start()
    except ClusterError as err:
        pytest.fail(f'the local SLURM cluster (munged, slurmctld, slurmd) did not '
                    f'start: {err}', pytrace=False)
    yield cluster
    cluster.stop()
    if not os.environ.get('EPIC_KEEP_SLURM'):
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """{'EPIC_VIDEOS', 'EPIC_LISTS', 'root'}: 2 train videos (18 segments), 1 val (9)."""
    root = str(tmp_path_factory.mktemp('slurm_demo_data'))
    return dict(make_demo_data(root), root=root)


@pytest.fixture(scope='session')
def job_env(slurm_cluster, demo_data):
    """The environment jobs are submitted with: this interpreter, CPU only."""
    env = slurm_cluster.env()
    env.update(EPIC_VIDEOS=demo_data['EPIC_VIDEOS'], EPIC_LISTS=demo_data['EPIC_LISTS'],
               PYTHON=sys.executable, CUDA_VISIBLE_DEVICES='', PYTHONUNBUFFERED='1')
    env.pop('OMP_NUM_THREADS', None)  # the scripts set it from --cpus-per-task
    # OpenMP threads that wait passively: a job's busy-waiting threads spin
    # against the other test workers on the same cores (as `make demo` avoids)
    env['OMP_WAIT_POLICY'] = 'PASSIVE'
    if osp.isfile(osp.join(sys.prefix, 'bin', 'activate')):
        env['EPIC_VENV'] = sys.prefix  # the scripts' environment activation
    env['PYTHONPATH'] = REPO  # the test configs import tests.slurm.shard_probe
    return env
