#!/usr/bin/env bash
# Distributed testing without SLURM (torchrun), MMAction2 style:
#
#   tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py ARGS...]
#
# Environment: NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1), PORT (29500),
# PYTHON (python).
set -euo pipefail
if (($# < 3)); then
    echo "usage: tools/dist_test.sh CONFIG CHECKPOINT GPUS [tools/test.py ARGS...]" >&2
    exit 2
fi
config=$1
checkpoint=$2
gpus=$3
shift 3
tools=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$tools")
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$gpus" \
    "$tools/test.py" "$config" "$checkpoint" --launcher pytorch "$@"
