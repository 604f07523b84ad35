"""setup.py installs mmcv-lite unless a full mmcv is there (or EPIC_MMCV says)."""
import os
import subprocess
import sys
from importlib import metadata

import pytest

from .conftest import REPO


def requirements(tmp_path, **env) -> list:
    out = subprocess.run([sys.executable, 'setup.py', '-q', 'egg_info', '--egg-base',
                          str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=300)
    assert out.returncode == 0, out.stderr
    path = tmp_path / 'epic_mmaction.egg-info' / 'requires.txt'
    return path.read_text().split('[', 1)[0].split()


def _full_mmcv() -> bool:
    try:
        metadata.version('mmcv')
        return True
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.parametrize('choice,lite', [('lite', True), ('keep', False)])
def test_forced_choice(tmp_path, choice, lite):
    reqs = requirements(tmp_path, EPIC_MMCV=choice)
    assert any(r.startswith('mmcv-lite') for r in reqs) == lite
    assert 'mmaction2==1.2.0' in reqs and 'decord==0.6.0' in reqs
    assert 'setuptools<82' in reqs and 'importlib_metadata' in reqs


def test_auto_detects_full_mmcv(tmp_path):
    reqs = requirements(tmp_path, EPIC_MMCV='auto')
    # this environment has mmcv-lite (not full mmcv): lite stays required
    assert any(r.startswith('mmcv-lite') for r in reqs) != _full_mmcv()
