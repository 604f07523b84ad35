"""A real one-node SLURM cluster on localhost: munged, slurmctld and slurmd.

Debian's ``slurm-wlm`` and ``munge`` packages (``.ci/run`` installs them);
everything else lives in a private directory: a fresh munge key and socket,
``slurm.conf`` (no cgroups: ``proctrack/linuxproc``, ``task/none``; free ports),
state, spool and logs. Clients find the cluster through ``SLURM_CONF`` (see
:meth:`LocalSlurmCluster.env`). Usable by hand too::

    python -m tests.slurm.cluster /tmp/slurm   # starts it, prints SLURM_CONF, Ctrl-C stops
"""
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

DAEMONS = ('munged', 'slurmctld', 'slurmd')
CLIENTS = ('sbatch', 'srun', 'squeue', 'scontrol', 'scancel', 'sinfo')
APT_HINT = 'apt-get install slurm-wlm munge (Debian/Ubuntu; .ci/run does this)'


class ClusterError(RuntimeError):
    """The cluster could not be started; the message says why."""


def find_programs() -> Dict[str, str]:
    """Paths of the daemons and clients; ClusterError naming what is missing."""
    found, missing = {}, []
    for name in DAEMONS + CLIENTS:
        path = shutil.which(name) or next(
            (p for p in (f'/usr/sbin/{name}', f'/usr/bin/{name}') if os.access(p, os.X_OK)),
            None)
        if path:
            found[name] = path
        else:
            missing.append(name)
    if missing:
        raise ClusterError(f'missing {", ".join(missing)}: {APT_HINT}')
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _tail(path: str, lines: int = 25) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return f'({path} not written)'


class LocalSlurmCluster:
    """Start with :meth:`start`, submit with ``env()``, stop with :meth:`stop`.

    Args:
        root: a new private directory for keys, config, state and logs
            (created; default: a fresh temporary directory).
        cpus: CPUs of the single node (at least 2; the real core count is not
            checked, ``SlurmdParameters=config_overrides``).
    """

    def __init__(self, root: Optional[str] = None, cpus: Optional[int] = None):
        self.programs = find_programs()
        self.root = root or tempfile.mkdtemp(prefix='epic-slurm-')
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)  # munged wants its socket directory reachable
        self.cpus = max(2, cpus or os.cpu_count() or 2)
        self.node = socket.gethostname().split('.')[0]
        self.user = self._user()
        self.conf = osp.join(self.root, 'slurm.conf')
        self.procs: Dict[str, subprocess.Popen] = {}

    @staticmethod
    def _user() -> str:
        import pwd
        return pwd.getpwuid(os.getuid()).pw_name

    def path(self, *parts: str) -> str:
        return osp.join(self.root, *parts)

    # -- configuration -------------------------------------------------------------
    def _write_munge_key(self) -> None:
        os.makedirs(self.path('munge'), mode=0o700, exist_ok=True)
        os.chmod(self.path('munge'), 0o700)
        key = self.path('munge', 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o400)

    def write_config(self) -> str:
        for sub in ('run', 'state', 'spool', 'log'):
            os.makedirs(self.path(sub), exist_ok=True)
        os.chmod(self.path('run'), 0o755)
        ctld_port, slurmd_port = _free_port(), _free_port()
        while slurmd_port == ctld_port:
            slurmd_port = _free_port()
        lines = [
            'ClusterName=epictest',
            f'SlurmctldHost={self.node}(127.0.0.1)',
            f'SlurmctldPort={ctld_port}',
            f'SlurmdPort={slurmd_port}',
            f'SlurmUser={self.user}',
            f'SlurmdUser={self.user}',
            'AuthType=auth/munge',
            'CredType=cred/munge',
            # cred_expire: a requeued job waits this long (default 120 s) to restart
            f'AuthInfo=socket={self.path("run", "munge.socket")},cred_expire=10',
            f'StateSaveLocation={self.path("state")}',
            f'SlurmdSpoolDir={self.path("spool")}',
            f'SlurmctldPidFile={self.path("run", "slurmctld.pid")}',
            f'SlurmdPidFile={self.path("run", "slurmd.pid")}',
            f'SlurmctldLogFile={self.path("log", "slurmctld.log")}',
            f'SlurmdLogFile={self.path("log", "slurmd.log")}',
            'ProctrackType=proctrack/linuxproc',
            'TaskPlugin=task/none',
            'SelectType=select/cons_tres',
            'SelectTypeParameters=CR_CPU',
            'SchedulerType=sched/builtin',
            'SchedulerParameters=sched_interval=1',  # start requeued jobs promptly
            'JobAcctGatherType=jobacct_gather/none',
            'AccountingStorageType=accounting_storage/none',
            'JobCompType=jobcomp/none',
            'MpiDefault=none',
            'MailProg=/bin/true',
            'ReturnToService=2',
            'SlurmdParameters=config_overrides',
            'PropagateResourceLimits=NONE',
            'MinJobAge=600',  # job records stay queryable after the end
            'KillWait=30',
            'InactiveLimit=0',
            f'NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} '
            'RealMemory=1000 State=UNKNOWN',
            'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
        ]
        with open(self.conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        return self.conf

    def env(self, base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        """``base`` (default: os.environ) without an enclosing job's SLURM_*
        variables, plus SLURM_CONF for this cluster."""
        env = {k: v for k, v in (base if base is not None else os.environ).items()
               if not k.startswith(('SLURM_', 'SBATCH_', 'SRUN_', 'SALLOC_'))}
        env['SLURM_CONF'] = self.conf
        return env

    # -- processes ------------------------------------------------------------------
    def _spawn(self, name: str, args: List[str]) -> None:
        out = open(self.path('log', f'{name}.out'), 'ab')
        self.procs[name] = subprocess.Popen(
            [self.programs[name], *args], stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, env=self.env(), start_new_session=True)
        out.close()

    def _fail(self, what: str) -> None:
        logs = '\n'.join(f'--- {name}\n{_tail(self.path("log", name))}'
                         for name in ('munged.log', 'munged.out', 'slurmctld.out',
                                      'slurmd.out'))
        self.stop()
        raise ClusterError(f'{what} (files in {self.root})\n{logs}')

    def _wait_for(self, what: str, check, timeout: float) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    self._fail(f'{name} exited with status {proc.returncode} while '
                               f'waiting for {what}')
            if check():
                return
            time.sleep(0.2)
        self._fail(f'timed out after {timeout:.0f} s waiting for {what}')

    def run(self, *args: str, check: bool = True, timeout: float = 60,
            **kwargs) -> subprocess.CompletedProcess:
        """Run a SLURM client (``sbatch``, ``squeue`` ...) against this cluster."""
        cmd = [self.programs.get(args[0], args[0]), *args[1:]]
        out = subprocess.run(cmd, env=kwargs.pop('env', None) or self.env(),
                             capture_output=True, text=True, timeout=timeout, **kwargs)
        if check and out.returncode:
            raise ClusterError(f'{" ".join(args)} failed ({out.returncode}): '
                               f'{out.stderr.strip() or out.stdout.strip()}')
        return out

    def start(self, timeout: float = 60) -> 'LocalSlurmCluster':
        self._write_munge_key()
        self.write_config()
        self._spawn('munged', [
            '--foreground', f'--socket={self.path("run", "munge.socket")}',
            f'--key-file={self.path("munge", "munge.key")}',
            f'--pid-file={self.path("run", "munged.pid")}',
            f'--log-file={self.path("log", "munged.log")}',
            f'--seed-file={self.path("munge", "munged.seed")}'])
        self._wait_for('the munge socket',
                       lambda: osp.exists(self.path('run', 'munge.socket')), timeout)
        # -i: ignore (empty) saved state
        self._spawn('slurmctld', ['-D', '-i', '-f', self.conf])
        self._wait_for('slurmctld', lambda: self.run('scontrol', 'ping', check=False,
                                                     timeout=20).returncode == 0, timeout)
        self._spawn('slurmd', ['-D', '-f', self.conf])
        self._wait_for(f'node {self.node} to be idle', self._node_idle, timeout)
        return self

    def _node_idle(self) -> bool:
        out = self.run('sinfo', '-h', '-N', '-o', '%T', check=False, timeout=20)
        return out.returncode == 0 and out.stdout.strip() == 'idle'

    def stop(self) -> None:
        """Cancel every job, wait for them to end, stop the daemons (slurmd,
        slurmctld, munged: the reverse order)."""
        if 'slurmctld' in self.procs and self.procs['slurmctld'].poll() is None:
            self.run('scancel', '--user', self.user, check=False, timeout=20)
            deadline = time.time() + 45
            while time.time() < deadline:
                out = self.run('squeue', '-h', '-o', '%i', check=False, timeout=20)
                if out.returncode or not out.stdout.strip():
                    break
                time.sleep(0.5)
        for name in reversed(DAEMONS):
            proc = self.procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    # -- jobs ------------------------------------------------------------------------
    def sbatch(self, *args: str, env: Optional[Dict[str, str]] = None,
               cwd: Optional[str] = None) -> str:
        """Submit; returns the job id."""
        out = self.run('sbatch', '--parsable', *args, env=env, cwd=cwd)
        return out.stdout.strip().split(';')[0]

    def job(self, job_id: str) -> Dict[str, str]:
        """``scontrol show job`` as a dict (JobState, ExitCode, Restarts ...)."""
        out = self.run('scontrol', 'show', 'job', '-o', job_id)
        fields = {}
        for item in out.stdout.split():
            key, _, value = item.partition('=')
            fields[key] = value
        return fields

    def wait_state(self, job_id: str, states, timeout: float) -> Dict[str, str]:
        """Wait until the job is in one of ``states``; returns its record."""
        states = {states} if isinstance(states, str) else set(states)
        deadline = time.time() + timeout
        while True:
            info = self.job(job_id)
            if info.get('JobState') in states:
                return info
            if time.time() > deadline:
                raise TimeoutError(f'job {job_id} still {info.get("JobState")} '
                                   f'({info.get("Reason")}) after {timeout:.0f} s, '
                                   f'not {sorted(states)}')
            time.sleep(0.25)


def main(argv: List[str]) -> int:
    cluster = LocalSlurmCluster(argv[0] if argv else None)
    try:
        cluster.start()
    except ClusterError as err:
        print(err, file=sys.stderr)
        return 1
    print(f'export SLURM_CONF={cluster.conf}   # Ctrl-C stops the cluster', flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
