#!/usr/bin/env bash
# Distributed training without SLURM (torchrun), MMAction2 style:
#
#   tools/dist_train.sh CONFIG GPUS [tools/train.py ARGS...]
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 tools/dist_train.sh CONFIG 8 --amp   # on host0
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=host0 tools/dist_train.sh CONFIG 8 --amp   # on host1
#
# GPUS processes on this node (one per GPU; without CUDA: CPU processes, gloo).
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# PYTHON (python).
set -euo pipefail
if (($# < 2)); then
    echo "usage: tools/dist_train.sh CONFIG GPUS [tools/train.py ARGS...]" >&2
    exit 2
fi
config=$1
gpus=$2
shift 2
tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$tools")
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$gpus" \
    "$tools/train.py" "$config" --launcher pytorch "$@"
