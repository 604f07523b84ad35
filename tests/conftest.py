"""Shared fixtures: real synthetic EPIC datasets written with PyAV/libx264."""
import importlib.util
import os
import os.path as osp
import shutil
import tempfile

import pytest

from epic_mmaction.synthetic.generator import SyntheticConfig, generate

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_EPIC = osp.join(osp.dirname(REPO), 'shared', 'epic100')


def load_tool(name: str):
    """``tools/<name>.py`` as a module, to call its ``main``/``parse_args`` here."""
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    config.addinivalue_line('markers', 'slow: long-running (CI runs them too)')
    # several xdist workers share the cores: one OpenMP thread per process
    # (inherited by the tools the tests start) instead of one per core in
    # each, which oversubscribes them (the tests that train, -n 2 on 2
    # cores: 100 s instead of 115 s). Tests that need more set their own.
    if int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1')) > 1:
        os.environ.setdefault('OMP_NUM_THREADS', '1')
    # frame indexes of test videos go to this run's temporary directory, never
    # the user's ~/.cache; tools run as subprocesses inherit it
    if not os.environ.get('EPIC_MMACTION_CACHE_DIR'):
        cache = tempfile.mkdtemp(prefix='epic_mmaction_cache_')
        os.environ['EPIC_MMACTION_CACHE_DIR'] = cache
        config.add_cleanup(lambda: shutil.rmtree(cache, ignore_errors=True))


# The longest tests start first, so that the workers' last minutes are short
# tests and no worker sits idle while another finishes a 4-minute demo:
# on 2 cores the suite's wall time is its CPU time over 2 only if the tail is.
FIRST = ('tests/tools/test_demo_learns.py', 'tests/tools/test_demo_clips.py',
         'tests/slurm/')


def start_rank(item) -> int:
    path = osp.relpath(str(item.path), REPO).replace(os.sep, '/')
    for rank, prefix in enumerate(FIRST):
        if path.startswith(prefix):
            return rank
    return len(FIRST) if item.get_closest_marker('slow') else len(FIRST) + 1


def pytest_collection_modifyitems(config, items):
    items.sort(key=start_rank)  # stable: the order within a rank is kept


@pytest.fixture(scope='session')
def official_epic_dir() -> str:
    """The official EPIC-100 CSVs beside the checkout (CI always has them)."""
    if not osp.isdir(SHARED_EPIC):
        if os.environ.get('CI'):
            pytest.fail(f'{SHARED_EPIC} is missing on CI')
        pytest.skip('official EPIC-100 CSVs (../shared/epic100) not available')
    return SHARED_EPIC


@pytest.fixture(scope='session')
def small_epic(tmp_path_factory):
    """A small synthetic dataset (all splits, 59.94 and 50 fps, quirks on)."""
    root = str(tmp_path_factory.mktemp('small_epic'))
    cfg = SyntheticConfig(videos={'train': 3, 'validation': 2, 'test': 1},
                          duration=20, width=160, height=90, seed=3)
    plans = generate(root, cfg, workers=2)
    return root, plans, cfg
