"""Distributed training on machines without CUDA (gloo), for tests and CPU clusters.

mmengine 0.10's ``init_dist`` calls ``torch.cuda.set_device`` for every
launcher, which fails without CUDA, and its default DDP wrapper passes
``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU model. On a machine
without CUDA :func:`setup_cpu_distributed` therefore initialises the process
group itself from the same environment variables mmengine reads (the Runner
then finds it initialised and skips ``init_dist``), with the gloo backend, and
wraps the model in DDP without device ids. With CUDA nothing changes.
"""
import datetime
import logging
import os
import subprocess
from typing import Optional

from mmengine.config import Config
from mmengine.logging import print_log

LAUNCHERS = ('pytorch', 'slurm', 'mpi')


def _first_host(nodelist: str) -> str:
    """The first host of a SLURM node list (``node[01-04]`` -> ``node01``)."""
    out = subprocess.run(['scontrol', 'show', 'hostnames', nodelist],
                         capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def _slurm_env(port: Optional[int]) -> None:
    """RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT from srun's variables,
    exactly as ``mmengine.dist.utils._init_dist_slurm`` sets them."""
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        os.environ['MASTER_ADDR'] = _first_host(os.environ['SLURM_NODELIST'])


def _mpi_env() -> None:
    os.environ['RANK'] = os.environ['OMPI_COMM_WORLD_RANK']
    os.environ['WORLD_SIZE'] = os.environ['OMPI_COMM_WORLD_SIZE']
    os.environ['LOCAL_RANK'] = os.environ.get('OMPI_COMM_WORLD_LOCAL_RANK', '0')
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        raise KeyError('The environment variable MASTER_ADDR is not set')


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare ``cfg`` (``cfg.launcher`` set) for distributed training without CUDA.

    Returns whether it did anything: False for ``launcher='none'`` or when CUDA
    is available (then mmengine's own ``init_dist`` with the configured backend,
    NCCL in the shared runtime, runs as usual).
    """
    import torch
    import torch.distributed as torch_dist

    launcher = cfg.get('launcher', 'none')
    if launcher not in LAUNCHERS or torch.cuda.is_available():
        return False
    env_cfg = cfg.setdefault('env_cfg', dict())
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    backend = dist_cfg.pop('backend', 'nccl')
    if backend != 'gloo':
        print_log(f'no CUDA device: distributed backend {backend} -> gloo',
                  logger='current', level=logging.WARNING)
    env_cfg['dist_cfg'] = dict(dist_cfg, backend='gloo')

    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False)))
    wrapper['device_ids'] = None  # DDP on CPU takes no device ids
    cfg.model_wrapper_cfg = wrapper

    if torch_dist.is_available() and torch_dist.is_initialized():
        return True
    dist_cfg.pop('init_backend', None)
    port = dist_cfg.pop('port', None)
    if dist_cfg.get('timeout') is not None:
        dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
    if launcher == 'slurm':
        _slurm_env(port)
    elif launcher == 'mpi':
        _mpi_env()
    torch_dist.init_process_group(backend='gloo', init_method='env://',
                                  rank=int(os.environ['RANK']),
                                  world_size=int(os.environ['WORLD_SIZE']), **dist_cfg)
    return True


def destroy_distributed() -> None:
    """Destroy the default process group, if any, before the interpreter exits.

    Without it gloo's worker threads are still alive at interpreter shutdown
    and a run that finished cleanly sometimes aborts there (SIGABRT,
    ``terminate called without an active exception``, pytorch#190489), so
    torchrun reports the whole job failed. Called after a run that ended
    normally on every rank (NCCL's teardown expects all ranks to take part).
    """
    import torch.distributed as torch_dist

    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()
