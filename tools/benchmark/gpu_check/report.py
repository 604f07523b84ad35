"""report.json and report.md, rewritten whole (temp file + rename) after each step.

report.json holds one entry per step under ``steps``: ``name``, ``status``
(``pass``, ``fail``, ``timeout``, ``skipped`` or ``pending``), ``seconds``,
``budget_s``, ``error`` (the first error line) and the step's ``results``.
report.md is rendered from it alone, so either can be read after a crash.
"""
import json
import os.path as osp
from typing import Any, Callable, Dict, List, Optional

from epic_mmaction.utils.fileio import atomic_write

STATUS_MARK = {'pass': 'PASS', 'fail': 'FAIL', 'timeout': 'TIMEOUT',
               'skipped': 'SKIPPED', 'pending': 'not run yet'}


def write_report(work_dir: str, report: Dict[str, Any]) -> None:
    """Both files, each replaced atomically: never half-written."""
    with atomic_write(osp.join(work_dir, 'report.json')) as f:
        json.dump(report, f, indent=2, default=str)
        f.write('\n')
    with atomic_write(osp.join(work_dir, 'report.md')) as f:
        f.write(render_markdown(report))


def read_report(work_dir: str) -> Dict[str, Any]:
    with open(osp.join(work_dir, 'report.json')) as f:
        return json.load(f)


# --- markdown -----------------------------------------------------------------------

def table(header: List[str], rows: List[List[Any]]) -> List[str]:
    def cell(v: Any) -> str:
        if v is None:
            return '-'
        if isinstance(v, float):
            return f'{v:.3g}' if abs(v) < 100 else f'{v:.0f}'
        return str(v).replace('|', '/').replace('\n', ' ')
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(cell(v) for v in row) + ' |' for row in rows]
    return lines


def pct(v: Optional[float]) -> Optional[str]:
    return None if v is None else f'{100 * v:.0f} %'


def _env(r: Dict[str, Any]) -> List[str]:
    return table(['item', 'value'], [[k, v] for k, v in r.items()])


def _data(r: Dict[str, Any]) -> List[str]:
    rows = [[s.get('what'), s.get('videos'), s.get('video_hours'), s.get('size'),
             s.get('gop'), s.get('segments'), s.get('kept'), s.get('seconds')]
            for s in r.get('sets', [])]
    lines = table(['set', 'videos', 'video-hours', 'size', 'GOP', 'segments',
                   'kept after cleaning', 'seconds'], rows)
    for key in ('reencoded_root', 'originals_root', 'lists'):
        if key in r:
            lines.append(f'\n{key}: `{r[key]}`')
    return lines


def _train(r: Dict[str, Any]) -> List[str]:
    rows = [[c.get('name'), c.get('status'), c.get('iters'), c.get('batch_size'),
             c.get('workers'), c.get('amp'), c.get('clips_per_s'),
             pct(c.get('data_share')), c.get('peak_memory_mib'), c.get('train_s'),
             c.get('test_s'), c.get('error')] for c in r.get('configs', [])]
    lines = table(['config', 'status', 'iters', 'batch', 'workers', 'AMP', 'clips/s',
                   'data share', 'peak MiB', 'train s', 'test s', 'first error'], rows)
    if r.get('memory_kind'):
        lines.append(f'\npeak MiB: {r["memory_kind"]}; clips/s from the logged '
                     'iteration times after the first')
    return lines


def _resume(r: Dict[str, Any]) -> List[str]:
    return table(['item', 'value'], [[k, v] for k, v in r.items()])


def _throughput(r: Dict[str, Any]) -> List[str]:
    rows = []
    for run in r.get('runs', []):
        rows.append([run.get('name'), run.get('spec'), run.get('amp'),
                     run.get('channels_last'), run.get('compile'),
                     run.get('cudnn_benchmark'), run.get('batch_size'), run.get('workers'),
                     run.get('clips_per_s'), pct(run.get('data_share')),
                     run.get('gpu_only_clips_per_s'), pct(run.get('ratio')),
                     run.get('peak_memory_mib'), run.get('error')])
    lines = table(['backbone config', 'setting', 'AMP', 'channels-last', 'compile',
                   'cuDNN bench', 'batch', 'workers', 'clips/s', 'data share',
                   'GPU-only clips/s', 'real / GPU-only', 'peak MiB', 'error'], rows)
    best = r.get('best', [])
    if best:
        lines += ['', '**Best setting per backbone** (target: real / GPU-only >= '
                  f'{pct(r.get("target"))} with the config\'s loader workers):', '']
        lines += table(['backbone config', 'best setting', 'clips/s', 'real / GPU-only',
                        'meets target', 'loader workers needed (estimate)'],
                       [[b['name'], b['spec'], b['clips_per_s'], pct(b['ratio']),
                         'yes' if b['meets_target'] else 'no', b['workers_needed']]
                        for b in best])
    return lines


def _decoding(r: Dict[str, Any]) -> List[str]:
    rows = [[d.get('what'), d.get('size'), d.get('gop'), d.get('workers'), d.get('clips'),
             d.get('clips_per_s'), d.get('median_ms'), d.get('error')]
            for d in r.get('loader', [])]
    lines = table(['videos', 'size', 'GOP', 'workers', 'clips', 'clips/s', 'median ms',
                   'error'], rows)
    tools = r.get('one_time', [])
    if tools:
        lines += ['', 'One-time tools on the 1080p originals, all cores:', '']
        lines += table(['tool', 'workers', 'video-hours', 'seconds',
                        'seconds per video-hour', 'x real time'],
                       [[t['tool'], t['workers'], t['video_hours'], t['seconds'],
                         t['s_per_video_hour'], t['x_realtime']] for t in tools])
    gpu = r.get('gpu_decoders')
    if gpu:
        lines += ['', 'GPU decoders:', '']
        lines += table(['decoder', 'status', 'clips/s', 'detail'],
                       [[g['name'], g['status'], g.get('clips_per_s'), g.get('detail')]
                        for g in gpu])
    return lines


RENDERERS: Dict[str, Callable[[Dict[str, Any]], List[str]]] = dict(
    env=_env, data=_data, train=_train, resume=_resume, throughput=_throughput,
    decoding=_decoding)
TITLES = dict(env='1. Environment', data='2. Data', train='3. Train and test every config',
              resume='3b. SIGTERM mid-run and --resume',
              throughput='4. Throughput against the GPU-only ceiling',
              decoding='5. Decoding on the node')


def render_markdown(report: Dict[str, Any]) -> str:
    steps = report.get('steps', [])
    lines = [f'# GPU check ({report.get("profile")})', '',
             f'started {report.get("started")}, '
             + (f'finished {report["finished"]}, {report.get("total_s", 0):.0f} s'
                if report.get('finished') else 'still running or killed'), '',
             f'result: **{report.get("result", "running")}**', '']
    lines += table(['step', 'status', 'seconds', 'budget s', 'first error'],
                   [[s['name'], STATUS_MARK.get(s['status'], s['status']), s.get('seconds'),
                     s.get('budget_s'), s.get('error')] for s in steps])
    for step in steps:
        lines += ['', f'## {TITLES.get(step["name"], step["name"])}', '']
        if step.get('error'):
            lines += [f'**{STATUS_MARK.get(step["status"], step["status"])}**: '
                      f'{step["error"]}', '']
        results = step.get('results') or {}
        if results:
            lines += RENDERERS.get(step['name'], _env)(results)
        elif step['status'] == 'pending':
            lines.append('not run yet')
    return '\n'.join(lines) + '\n'
