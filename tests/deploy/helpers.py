"""Shared by the deployment tests."""
import os.path as osp

from ..conftest import REPO

EXTRACT = osp.join(REPO, 'tools', 'extract_features.py')
