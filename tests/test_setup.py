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


def _extras(tmp_path) -> dict:
    requirements(tmp_path)
    extras, current = {}, None
    for line in (tmp_path / 'epic_mmaction.egg-info' / 'requires.txt').read_text().splitlines():
        if line.startswith('['):
            current = line.strip('[]').split(':')[0]
            extras.setdefault(current, set())
        elif line.strip() and current is not None:
            extras[current].add(line.strip())
    return extras


def test_tests_extra_includes_the_onnx_extra(tmp_path):
    """CI installs .[tests]: the deployment tests need onnx, onnxruntime, onnxscript, lmdb."""
    extras = _extras(tmp_path)
    names = {r.split('<')[0].split('>')[0].split('=')[0] for r in extras['onnx']}
    assert names == {'onnx', 'onnxruntime', 'onnxscript', 'lmdb'}
    assert extras['onnx'] <= extras['tests']
