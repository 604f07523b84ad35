"""The benchmark harness lives in ``tools/benchmark/`` (not in the package);
the tools find it beside them, the tests through this path."""
import os.path as osp
import sys

TOOLS = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'tools')
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
