"""Run the steps in order, each in its own process under its budget, and report.

A step that fails or overruns is recorded (an overrun step is killed with its
children) and the next step runs; steps that need the data step's videos are
skipped when there are none. The report is rewritten after every step.
"""
import datetime
import json
import os
import os.path as osp
import time
from dataclasses import asdict
from typing import Any, Dict, List, Sequence

from .proc import describe_failure, python_cmd, run_logged
from .profile import Profile
from .report import write_report
from .steps import NEEDS_DATA


def _now() -> str:
    return datetime.datetime.now().isoformat(timespec='seconds')


def _previous_data(work_dir: str) -> Dict[str, Any]:
    """The data of an earlier run in ``work_dir`` (for ``--steps`` without data)."""
    try:
        with open(osp.join(work_dir, 'data', 'data.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def run_check(profile: Profile, steps: Sequence[str], work_dir: str,
              command: List[str]) -> int:
    """Every step in ``steps``; exit code 0 if all pass, else 1."""
    work_dir = osp.abspath(work_dir)
    os.makedirs(osp.join(work_dir, 'steps'), exist_ok=True)
    began = time.monotonic()
    report: Dict[str, Any] = dict(
        tool='tools/gpu_check.py', command=command, profile=profile.name,
        device=profile.device, work_dir=work_dir, started=_now(), finished=None,
        result='running', budgets=profile.budgets,
        configs=list(profile.configs), sweep=list(profile.sweep),
        steps=[dict(name=s, status='pending', seconds=None, budget_s=profile.budgets[s],
                    error=None, results={}) for s in steps])
    write_report(work_dir, report)
    results: Dict[str, Dict[str, Any]] = {}
    if 'data' not in steps and _previous_data(work_dir):
        results['data'] = _previous_data(work_dir)
    for entry in report['steps']:
        name = entry['name']
        if name in NEEDS_DATA and 'lists' not in results.get('data', {}):
            entry.update(status='skipped', seconds=0.0,
                         error='needs the data step\'s videos and lists, and there are '
                         'none (the data step failed or was not run in this work dir)')
            write_report(work_dir, report)
            continue
        entry.update(_run_step(name, profile, work_dir, results))
        results[name] = entry['results']
        write_report(work_dir, report)
    ok = all(s['status'] == 'pass' for s in report['steps'])
    report.update(finished=_now(), total_s=time.monotonic() - began,
                  result='pass' if ok else 'fail')
    write_report(work_dir, report)
    return 0 if ok else 1


def _run_step(name: str, profile: Profile, work_dir: str,
              results: Dict[str, Dict[str, Any]]) -> Dict[str, Any]:
    budget = profile.budgets[name]
    ctx_file = osp.join(work_dir, 'steps', f'{name}.context.json')
    out_file = osp.join(work_dir, 'steps', f'{name}.out.json')
    if osp.exists(out_file):
        os.remove(out_file)
    with open(ctx_file, 'w') as f:
        json.dump(dict(work_dir=work_dir, profile=asdict(profile), results=results,
                       deadline=time.time() + budget), f, indent=2)
    log = osp.join(work_dir, 'logs', f'{name}.log')
    finished = run_logged(python_cmd('-m', 'benchmark.gpu_check.child', 'step', name,
                                     ctx_file, out_file), log, budget, grace=5.0)
    out: Dict[str, Any] = {}
    if osp.isfile(out_file):
        with open(out_file) as f:
            out = json.load(f)
    entry = dict(seconds=round(finished.seconds, 1), results=out.get('results', {}),
                 log=log)
    if finished.timed_out:
        entry.update(status='timeout', error=f'ran past its budget of {budget:g} s and '
                     'was killed; the results below are what it finished (raise it with '
                     f'--budget {name}=SECONDS)')
    elif out.get('status') in ('pass', 'fail') and (out['status'] == 'fail'
                                                    or finished.returncode == 0):
        entry.update(status=out['status'], error=out.get('error'))
    else:
        entry.update(status='fail', error=describe_failure(finished, f'step {name}'))
    return entry
