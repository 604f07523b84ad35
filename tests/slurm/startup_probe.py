"""Test-only: holds a run while its config loads (``custom_imports``), so that a
test can signal it during start-up at a known moment.

With ``EPIC_TEST_STARTUP_PAUSE=DIR`` in the environment, importing this module
creates ``DIR/loading`` and waits until ``DIR/release`` exists; without it,
importing does nothing.
"""
import os
import os.path as osp
import time

folder = os.environ.get('EPIC_TEST_STARTUP_PAUSE')
if folder:
    os.makedirs(folder, exist_ok=True)
    open(osp.join(folder, 'loading'), 'w').close()
    deadline = time.time() + 300  # a test that died: do not hang forever
    while not osp.exists(osp.join(folder, 'release')) and time.time() < deadline:
        time.sleep(0.05)  # the test's signal is handled here
