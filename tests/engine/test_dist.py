"""setup_cpu_distributed / destroy_distributed in real torchrun processes (gloo).

A rank that exits with its gloo process group alive can abort at interpreter
shutdown (``terminate called without an active exception``), failing a run
that succeeded; the tools therefore destroy the group at the end.
"""
import os
import socket
import subprocess
import sys
import textwrap

from ..conftest import REPO

RANK_SCRIPT = textwrap.dedent('''
    import os, sys
    import torch
    import torch.distributed as dist
    from mmengine.config import Config
    from epic_mmaction.engine import destroy_distributed, setup_cpu_distributed

    cfg = Config(dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg)
    assert dist.is_initialized() and dist.get_backend() == 'gloo'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    assert cfg.model_wrapper_cfg.device_ids is None
    t = torch.tensor([float(dist.get_rank() + 1)])
    out = [torch.empty(1) for _ in range(dist.get_world_size())]
    for _ in range(5):
        dist.all_gather(out, t)
        dist.all_reduce(t)
    destroy_distributed()
    destroy_distributed()  # a second call (e.g. after the preemption hook's) is a no-op
    print(f'rank {os.environ["RANK"]}: initialized={dist.is_initialized()} sum={t.item()}')
''')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_cpu_process_group_is_gloo_and_destroyed(tmp_path):
    script = tmp_path / 'rank.py'
    script.write_text(RANK_SCRIPT)
    env = dict(os.environ, CUDA_VISIBLE_DEVICES='', PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    out = subprocess.run([sys.executable, '-m', 'torch.distributed.run',
                          '--nproc_per_node', '3', '--master_port', str(free_port()),
                          str(script)], env=env, capture_output=True, text=True,
                         timeout=300)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert 'terminate called' not in text
    # 5 rounds of all_reduce over 1+2+3: 6 -> 18 -> 54 -> 162 -> 486
    for rank in range(3):
        assert f'rank {rank}: initialized=False sum=486.0' in text, text[-4000:]
