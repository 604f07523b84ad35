# shellcheck shell=bash disable=SC2034  # EPIC_* results are read by the sbatch scripts
# Shared by slurm/*.sbatch (sourced from the repository, since sbatch runs a
# copy of the batch script from its spool directory; EPIC_SCRIPT names it). Nothing here is specific
# to one cluster: every setting comes from sbatch options or the environment.

# Repository root: EPIC_REPO, else the directory sbatch was run from.
epic_repo() {
    local repo=${EPIC_REPO:-${SLURM_SUBMIT_DIR:-$PWD}}
    if [[ ! -f $repo/tools/train.py || ! -d $repo/epic_mmaction ]]; then
        echo "${EPIC_SCRIPT:-$(basename "$0")}: $repo is not the epic_mmaction repository;" \
            "submit from its root or set EPIC_REPO" >&2
        return 2
    fi
    printf '%s\n' "$repo"
}

# Activate the environment (run in the repository root): EPIC_ENV_SCRIPT
# (sourced first, e.g. module loads), then EPIC_CONDA_ENV (conda) or EPIC_VENV
# (virtualenv), else the repository's .venv if there is one, else whatever PATH
# has. PYTHON (default python) is the interpreter used.
epic_activate() {
    set +u  # activation scripts read unset variables
    if [[ -n ${EPIC_ENV_SCRIPT:-} ]]; then
        # shellcheck disable=SC1090
        source "$EPIC_ENV_SCRIPT"
    fi
    if [[ -n ${EPIC_CONDA_ENV:-} ]]; then
        eval "$(conda shell.bash hook)"
        conda activate "$EPIC_CONDA_ENV"
    elif [[ -n ${EPIC_VENV:-} ]]; then
        # shellcheck disable=SC1091
        source "$EPIC_VENV/bin/activate"
    elif [[ -f .venv/bin/activate ]]; then
        # shellcheck disable=SC1091
        source .venv/bin/activate
    fi
    set -u
    PYTHON=${PYTHON:-python}
    # the repository's package even where it is not pip-installed (as MMAction2's scripts)
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    local probe='import importlib.util as u, sys
missing = [m for m in ("torch", "mmengine", "mmaction", "epic_mmaction") if u.find_spec(m) is None]
sys.exit(f"missing: {missing}" if missing else 0)'
    if ! "$PYTHON" -c "$probe"; then
        echo "${EPIC_SCRIPT:-$(basename "$0")}: $PYTHON lacks the packages above; set EPIC_VENV," \
            "EPIC_CONDA_ENV, EPIC_ENV_SCRIPT or PYTHON" >&2
        return 2
    fi
}

# Work dir from the tool arguments (--work-dir X / --work-dir=X), else
# WORK_DIR, else work_dirs/<config name>.
epic_work_dir() {
    local config=$1
    shift
    local work_dir=${WORK_DIR:-work_dirs/$(basename "${config%.py}")}
    while (($#)); do
        case $1 in
            --work-dir) work_dir=${2:?--work-dir needs a value}; shift ;;
            --work-dir=*) work_dir=${1#--work-dir=} ;;
        esac
        shift
    done
    printf '%s\n' "$work_dir"
}

# Send this script's output (and the job's tasks', through srun) to LOG too.
epic_log_to() {
    local log=$1
    mkdir -p "$(dirname "$log")"
    echo "${EPIC_SCRIPT:-$(basename "$0")}: job ${SLURM_JOB_ID:-} logs to $log"
    exec >>"$log" 2>&1
    echo "==== $(date '+%F %T') job ${SLURM_JOB_ID:-} (${SLURM_JOB_NAME:-}) restart" \
        "${SLURM_RESTART_COUNT:-0} on ${SLURM_JOB_NODELIST:-$(hostname)}:" \
        "${SLURM_JOB_NUM_NODES:-1} node(s), ${SLURM_NTASKS:-1} task(s)," \
        "${SLURM_CPUS_PER_TASK:-?} CPU(s) per task, ${SLURM_GPUS_ON_NODE:-0} GPU(s) per node"
}

# One task per GPU: GPUs on a node must equal the tasks on it (no GPUs: CPU).
# Prints the launcher for tools/train.py / tools/test.py.
epic_launcher() {
    local nodes=${SLURM_JOB_NUM_NODES:-1} tasks=${SLURM_NTASKS:-1}
    local per_node=$((tasks / nodes)) gpus=${SLURM_GPUS_ON_NODE:-0}
    if ((gpus > 0 && gpus != per_node)); then
        echo "${EPIC_SCRIPT:-$(basename "$0")}: $gpus GPU(s) but $per_node task(s) per node: one task" \
            "per GPU, e.g. sbatch --gpus-per-node=$gpus --ntasks-per-node=$gpus" >&2
        return 2
    fi
    if ((gpus == 0)); then
        echo "${EPIC_SCRIPT:-$(basename "$0")}: no GPU in this allocation: training on CPU (gloo)" >&2
    fi
    if ((tasks > 1)); then echo slurm; else echo none; fi
}

# srun one task per allocated task, forwarding USR1/TERM/INT to it and waiting
# for it through them (bash runs traps only between commands, so srun runs in
# the background). Sets EPIC_RC (srun's exit status) and EPIC_GOT_TERM (1 when
# this script was told to terminate: scancel, preemption, scontrol requeue).
EPIC_SRUN_PID=''
EPIC_GOT_TERM=0
EPIC_RC=0
epic_forward() {
    if [[ -n $EPIC_SRUN_PID ]]; then
        kill -s "$1" "$EPIC_SRUN_PID" 2>/dev/null || true
    fi
}
epic_srun() {
    local -a extra=() cpus=()
    read -r -a extra <<<"${SRUN_ARGS:-}"
    # srun (SLURM >= 22.05) no longer inherits sbatch's --cpus-per-task
    if [[ -n ${SLURM_CPUS_PER_TASK:-} ]]; then
        cpus=(--cpus-per-task="$SLURM_CPUS_PER_TASK")
    fi
    trap 'epic_forward USR1' USR1
    trap 'EPIC_GOT_TERM=1; epic_forward TERM' TERM
    trap 'EPIC_GOT_TERM=1; epic_forward INT' INT
    # --kill-on-bad-exit=0 --wait: ranks stopped by a signal all exit with 3 and
    # must not be killed by the first one's exit; a crashed rank takes the rest
    # down after --wait seconds instead of hanging in a collective.
    srun --kill-on-bad-exit=0 --wait="${EPIC_SRUN_WAIT:-120}" "${cpus[@]}" "${extra[@]}" "$@" &
    EPIC_SRUN_PID=$!
    # a trapped signal interrupts wait while srun still runs: wait again; then
    # wait once more for srun's own status (bash keeps it)
    while kill -0 "$EPIC_SRUN_PID" 2>/dev/null; do
        wait "$EPIC_SRUN_PID" || true
    done
    EPIC_RC=0
    wait "$EPIC_SRUN_PID" || EPIC_RC=$?
    EPIC_SRUN_PID=
    trap - USR1 TERM INT
}
