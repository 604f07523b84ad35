"""Shared by the deployment tests: tools run as subprocesses or in this process."""
import os.path as osp
import subprocess
import sys

from ..conftest import REPO

EXTRACT = osp.join(REPO, 'tools', 'extract_features.py')


def run_tool(name: str, *args, timeout: int = 300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', f'{name}.py'),
                           *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, **kwargs)
