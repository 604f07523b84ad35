"""The steps of a GPU check, one function each, run in their own process (child.py).

Each takes the run's context and a ``record(results)`` callback that saves
partial results as it goes (a step killed at its budget keeps them), and
returns its results; :class:`StepFailed` marks a step that ran but failed.
"""
import glob
import json
import math
import os
import os.path as osp
import platform
import shutil
import subprocess
import threading
import time
from importlib import metadata
from typing import Any, Callable, Dict, List, Optional

from .configs import config_name, derive_config, run_overrides, write_run_lists
from .proc import (REPO, describe_failure, harness_env, python_cmd,
                   read_tail, run_logged)
from .profile import Profile, cpu_count

Record = Callable[[Dict[str, Any]], None]
THROUGHPUT_TARGET = 0.9
MARGIN_S = 3.0  # a step stops its children this long before its own deadline


class StepFailed(Exception):
    """The step ran but something in it failed; its results are kept."""

    def __init__(self, message: str, results: Dict[str, Any]) -> None:
        super().__init__(message)
        self.results = results


class Context:
    """What a step knows: the profile, the work dir, earlier steps' results."""

    def __init__(self, raw: Dict[str, Any]) -> None:
        self.raw = raw
        self.work_dir: str = raw['work_dir']
        self.profile = Profile(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in raw['profile'].items()})
        self.results: Dict[str, Dict[str, Any]] = raw.get('results', {})
        self.deadline: float = raw['deadline']  # time.time() when the step is killed

    def left(self) -> float:
        """Seconds a child of this step may still run."""
        return max(1.0, self.deadline - time.time() - MARGIN_S)

    def path(self, *parts: str) -> str:
        return osp.join(self.work_dir, *parts)

    def data(self) -> Dict[str, Any]:
        data = self.results.get('data')
        if not data or 'lists' not in data:
            raise StepFailed('no data: run the data step first (--steps data,...)', {})
        return data

    def data_env(self, lists: str) -> Dict[str, str]:
        return harness_env(dict(EPIC_VIDEOS=self.data()['reencoded_root'], EPIC_LISTS=lists,
                                **({'CUDA_VISIBLE_DEVICES': ''}
                                   if self.profile.device == 'cpu' else {})))


# --- 1. environment -----------------------------------------------------------------

def _version(dist: str) -> Optional[str]:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _import_status(module: str) -> str:
    try:
        mod = __import__(module)
    except Exception as e:  # any import failure is what the report should say
        return f'no ({type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ""})'
    return f'yes ({getattr(mod, "__version__", "?")})'


def env_step(ctx: Context, record: Record) -> Dict[str, Any]:
    import torch
    r: Dict[str, Any] = dict(python=platform.python_version(), torch=torch.__version__,
                             torch_cuda=torch.version.cuda)
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        r.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                 gpu_count=torch.cuda.device_count(),
                 compute_capability=f'{props.major}.{props.minor}',
                 cudnn=torch.backends.cudnn.version())
        try:
            out = subprocess.run(['nvidia-smi', '--query-gpu=driver_version',
                                  '--format=csv,noheader'], capture_output=True,
                                 text=True, timeout=10)
            r['driver'] = out.stdout.strip().splitlines()[0] if out.returncode == 0 \
                else f'nvidia-smi failed: {out.stderr.strip()[:100]}'
        except (OSError, subprocess.TimeoutExpired, IndexError) as e:
            r['driver'] = f'unknown ({type(e).__name__})'
    else:
        r.update(gpu='none (CPU run)', cudnn=None, driver=None)
    for dist in ('mmaction2', 'mmengine', 'mmcv', 'mmcv-lite', 'epic_mmaction'):
        r[dist] = _version(dist)
    r['cpu_cores'] = cpu_count()
    for module in ('av', 'decord', 'torchcodec', 'PyNvVideoCodec', 'tensorboard'):
        r[f'import {module}'] = _import_status(module)
    return r


# --- 2. data ------------------------------------------------------------------------

def _video_hours(plans) -> float:
    return sum(p.num_frames / float(p.fps) for p in plans) / 3600


def data_step(ctx: Context, record: Record) -> Dict[str, Any]:
    """Synthetic EPIC originals (GOP 250), re-encoded copies (GOP 16, 256 px short
    side), lists built and cleaned for both, every tool on every core."""
    from epic_mmaction.annotations.builder import BuildOptions, build_annotations
    from epic_mmaction.annotations.listfile import read_list
    from epic_mmaction.cleaning.cleaner import clean_segments
    from epic_mmaction.reencode import EncodeSettings, reencode_videos
    from epic_mmaction.synthetic.generator import SyntheticConfig, generate
    p = ctx.profile
    root = ctx.path('data')
    shutil.rmtree(root, ignore_errors=True)
    workers = cpu_count()
    originals, reencoded = osp.join(root, 'originals'), osp.join(root, 'reencoded')
    lists_orig, lists = osp.join(root, 'lists_originals'), osp.join(root, 'lists')
    w, h = p.original_size
    t0 = time.perf_counter()
    plans = generate(originals, SyntheticConfig(
        videos=dict(zip(('train', 'validation', 'test'), p.videos)), duration=p.duration,
        width=w, height=h, gop=p.original_gop, seed=17), workers=workers)
    hours = _video_hours(plans)
    r: Dict[str, Any] = dict(originals_root=osp.join(originals, 'videos'),
                             reencoded_root=reencoded, original_lists=lists_orig,
                             workers=workers, video_hours=hours,
                             generate_s=time.perf_counter() - t0, sets=[])
    record(r)
    build_annotations(BuildOptions(annotations_dir=originals, out_dir=lists_orig,
                                   data_root=r['originals_root'], splits=('train', 'val')))
    splits = ('train', 'val')
    t0 = time.perf_counter()
    kept = 0
    for split in splits:
        src = osp.join(lists_orig, f'epic100_{split}.txt')
        report = clean_segments(src, r['originals_root'],
                                osp.join(lists_orig, f'epic100_{split}_clean.txt'),
                                osp.join(lists_orig, f'epic100_{split}_clean.report.json'),
                                workers=workers, progress=False)
        kept += report['counts']['segments']['kept']
    r['clean_originals_s'] = time.perf_counter() - t0
    segments = sum(len(read_list(osp.join(lists_orig, f'epic100_{s}.txt'))) for s in splits)
    r['sets'].append(dict(what=f'originals ({w}x{h}, synthetic)', videos=len(plans),
                          video_hours=hours, size=f'{w}x{h}', gop=p.original_gop,
                          segments=segments, kept=kept,
                          seconds=r['generate_s'] + r['clean_originals_s']))
    record(r)
    t0 = time.perf_counter()
    clean_lists = [osp.join(lists_orig, f'epic100_{s}_clean.txt') for s in splits]
    reencode_videos(r['originals_root'], reencoded, clean_lists, lists,
                    EncodeSettings(gop=p.reencoded_gop, short_side=p.short_side),
                    report_path=osp.join(root, 'reencode.report.json'), workers=workers,
                    progress=False)
    r['reencode_s'] = time.perf_counter() - t0
    shutil.copy(osp.join(lists_orig, 'pairs.json'), osp.join(lists, 'pairs.json'))
    t0 = time.perf_counter()
    kept_re = 0
    for split in splits:
        path = osp.join(lists, f'epic100_{split}_clean.txt')
        report = clean_segments(path, reencoded, path,
                                osp.join(lists, f'epic100_{split}_clean.report.json'),
                                workers=workers, progress=False)
        kept_re += report['counts']['segments']['kept']
    r['clean_reencoded_s'] = time.perf_counter() - t0
    r['sets'].append(dict(what=f're-encoded ({p.short_side} px short side)',
                          videos=len(_videos_under(reencoded)), video_hours=hours,
                          size=f'{p.short_side} px short side', gop=p.reencoded_gop,
                          segments=kept, kept=kept_re,
                          seconds=r['reencode_s'] + r['clean_reencoded_s']))
    r['lists'] = lists
    if not kept_re:
        raise StepFailed('no segment survived cleaning the re-encoded lists', r)
    with open(ctx.path('data', 'data.json'), 'w') as f:  # for later --steps runs
        json.dump(r, f, indent=2)
    return r


def _videos_under(root: str) -> List[str]:
    return sorted(p for p in glob.glob(osp.join(root, '**', '*'), recursive=True)
                  if p.lower().endswith('.mp4') and osp.isfile(p))


# --- 3. train and test every config -------------------------------------------------

def _config_specs(ctx: Context, lists: str, train_len: int, sub: str,
                  epochs: Optional[int] = None) -> List[Dict[str, Any]]:
    """Derived configs (written with the run's paths resolved) for ``sub``/."""
    from mmengine.config import Config
    p = ctx.profile
    os.environ.update(EPIC_VIDEOS=ctx.data()['reencoded_root'], EPIC_LISTS=lists)
    specs = []
    for config in p.configs if sub == 'train' else p.configs[:1]:
        name = config_name(config)
        work = ctx.path(sub, name)
        cfg = Config.fromfile(osp.join(REPO, config))
        overrides = run_overrides(cfg, train_len, p.train_iters, p.batch_size, p.workers,
                                  p.shrink_to, epochs)
        derived = derive_config(osp.join(REPO, config), osp.join(work, f'{name}.py'),
                                overrides)
        batch = p.batch_size or cfg.train_dataloader.batch_size
        specs.append(dict(name=name, config=config, derived=derived, work_dir=work,
                          batch_size=batch,
                          workers=overrides.get('train_dataloader.num_workers',
                                                cfg.train_dataloader.get('num_workers', 0)),
                          amp=_amp_name(cfg, p.device)))
    return specs


def _amp_name(cfg, device: str) -> str:
    wrapper = cfg.optim_wrapper
    if wrapper.get('type') != 'AmpOptimWrapper':
        return 'fp32'
    if device == 'cpu':
        return 'fp32 (AMP off on CPU)'
    return {'bfloat16': 'bf16', 'float16': 'fp16'}.get(str(wrapper.get('dtype')), 'fp16')


def _max_batch(ctx: Context) -> int:
    from mmengine.config import Config
    if ctx.profile.batch_size:
        return ctx.profile.batch_size
    return max(Config.fromfile(osp.join(REPO, c)).train_dataloader.batch_size
               for c in ctx.profile.configs)


def train_step(ctx: Context, record: Record) -> Dict[str, Any]:
    """~``train_iters`` iterations of every config with tools/train.py, then
    tools/test.py --dump; ``config_processes`` configs at a time."""
    from concurrent.futures import ThreadPoolExecutor
    p = ctx.profile
    data = ctx.data()
    lists, train_len = write_run_lists(data['lists'], ctx.path('train', 'lists'),
                                       p.train_iters * _max_batch(ctx), p.val_segments)
    specs = _config_specs(ctx, lists, train_len, 'train')
    env = ctx.data_env(lists)
    groups = [specs[i::p.config_processes] for i in range(p.config_processes)]
    groups = [g for g in groups if g]
    r: Dict[str, Any] = dict(
        configs=[dict(name=s['name'], status='pending') for s in specs],
        memory_kind='CUDA max_memory_allocated' if p.device == 'cuda'
        else 'peak RSS of the config process so far (its configs share it)', lists=lists)
    record(r)

    def run_group(k: int) -> None:
        spec_file = ctx.path('train', f'group{k}.json')
        out = ctx.path('train', f'group{k}.out.json')
        with open(spec_file, 'w') as f:
            json.dump(groups[k], f)
        seen = [0.0]

        def merge(done: Dict[str, Dict[str, Any]]) -> None:
            with lock:
                for c in r['configs']:
                    if c['name'] in done:
                        c.update(done[c['name']])
                record(r)

        def refresh(line: str, proc: subprocess.Popen) -> None:
            """Keep each finished config in the step's results as it comes."""
            if osp.isfile(out) and osp.getmtime(out) != seen[0]:
                seen[0] = osp.getmtime(out)
                merge({c['name']: c for c in _read_json(out, [])})

        finished = run_logged(python_cmd('-m', 'benchmark.gpu_check.child', 'configs',
                                         spec_file, out),
                              ctx.path('logs', f'train_group{k}.log'), ctx.left(), env=env,
                              watch=refresh)
        done = {c['name']: c for c in _read_json(out, [])}
        for spec in groups[k]:
            if spec['name'] not in done:
                done[spec['name']] = dict(
                    name=spec['name'], status='fail',
                    error=('not finished: ' + describe_failure(finished, 'the train step'))
                    if finished.timed_out or finished.returncode
                    else 'no result (the config process wrote none)')
        merge(done)

    lock = threading.Lock()
    with ThreadPoolExecutor(len(groups)) as pool:
        list(pool.map(run_group, range(len(groups))))
    failed = [c['name'] for c in r['configs'] if c['status'] != 'pass']
    if failed:
        raise StepFailed(f'{len(failed)} of {len(specs)} configs failed: '
                         + ', '.join(failed), r)
    return r


def _read_json(path: str, default: Any) -> Any:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


# --- 3b. SIGTERM and --resume -------------------------------------------------------

def resume_step(ctx: Context, record: Record) -> Dict[str, Any]:
    """tools/train.py of the first config gets SIGTERM after its first logged
    iteration (2 epochs of 3 iterations): it must save and exit 3, then
    ``--resume`` must finish the run."""
    import signal
    p = ctx.profile
    batch = p.batch_size or _max_batch(ctx)
    lists, train_len = write_run_lists(ctx.data()['lists'], ctx.path('resume', 'lists'),
                                       3 * batch, p.val_segments)
    spec, = _config_specs(ctx, lists, train_len, 'resume', epochs=2)
    env = ctx.data_env(lists)
    cmd = python_cmd(osp.join(REPO, 'tools', 'train.py'), spec['derived'],
                     '--work-dir', spec['work_dir'])
    shutil.rmtree(spec['work_dir'] + '.run', ignore_errors=True)
    r: Dict[str, Any] = dict(config=spec['config'], signal='SIGTERM')
    sent: List[float] = []

    def watch(line: str, proc: subprocess.Popen) -> None:
        if not sent and 'Epoch(train)' in line and '[1][' in line.replace('  ', ' '):
            proc.send_signal(signal.SIGTERM)
            sent.append(time.time())
            r['signalled_at'] = line.strip()[-120:]

    first = run_logged(cmd, ctx.path('logs', 'resume_1_sigterm.log'), ctx.left() / 2,
                       env=env, watch=watch)
    r.update(first_exit=first.returncode, first_s=round(first.seconds, 1))
    saved = sorted(osp.basename(c) for c in glob.glob(osp.join(spec['work_dir'], '*.pth')))
    r['checkpoints_after_sigterm'] = ', '.join(saved) or 'none'
    record(r)
    if not sent:
        raise StepFailed('the run never logged a training iteration to signal at: '
                         + describe_failure(first, 'tools/train.py'), r)
    if first.returncode != 3 or not saved:
        raise StepFailed(f'after SIGTERM tools/train.py exited {first.returncode} with '
                         f'checkpoints [{r["checkpoints_after_sigterm"]}] (expected exit '
                         f'code 3 and a checkpoint); log {first.log}', r)
    second = run_logged(cmd + ['--resume'], ctx.path('logs', 'resume_2_resume.log'),
                        ctx.left(), env=env)
    log = read_tail(second.log)
    r.update(resume_exit=second.returncode, resume_s=round(second.seconds, 1),
             resumed_line=next((line.split(' - ')[-1].strip()[:160]
                                for line in log.splitlines()
                                if 'resumed epoch' in line or 'resuming epoch' in line),
                               None))
    r['finished'] = osp.isfile(osp.join(spec['work_dir'], 'epoch_2.pth'))
    record(r)
    if second.returncode != 0 or not r['finished']:
        raise StepFailed(describe_failure(second, 'tools/train.py --resume')
                         if second.returncode else
                         f'--resume exited 0 without epoch_2.pth; log {second.log}', r)
    return r


# --- 4. throughput ------------------------------------------------------------------

def _summary(name: str, result: Dict[str, Any]) -> Dict[str, Any]:
    if 'error' in result:
        return dict(name=name, spec=result.get('spec'), error=result['error'][:300])
    levers, real, gpu = result['levers'], result['real'], result['gpu_only']
    return dict(name=name, spec=result['spec'], amp=levers['amp'],
                channels_last=levers['channels_last'], compile=levers['compile'],
                cudnn_benchmark=levers['cudnn_benchmark'], batch_size=result['batch_size'],
                workers=result['workers'], clips_per_s=real['clips_per_s'],
                data_share=real['data_share'], gpu_only_clips_per_s=gpu['clips_per_s'],
                ratio=result['ratio'],
                peak_memory_mib=max(real['peak_memory_mib'], gpu['peak_memory_mib']),
                device=result['device_name'])


def workers_needed(run: Dict[str, Any], target: float = THROUGHPUT_TARGET) -> str:
    """Loader workers for ``target`` of GPU-only speed, assuming each worker
    delivers what it did here (real clips/s / workers when loader-bound)."""
    workers = run['workers']
    if run['ratio'] >= target:
        return f'{workers} are enough' if workers else 'loading in the main process is enough'
    if not workers:
        return 'n/a (loading in the main process)'
    per_worker = run['clips_per_s'] / workers
    return f'~{math.ceil(target * run["gpu_only_clips_per_s"] / per_worker)} (estimate)'


def throughput_step(ctx: Context, record: Record) -> Dict[str, Any]:
    """Per backbone and lever setting: real-data clips/s vs an in-memory batch
    (tools/benchmark_training.py's harness), with the configs' loader workers."""
    from benchmark.levers import parse_spec
    from benchmark.training import BenchmarkOptions, run_benchmark, run_in_subprocess
    from mmengine.config import Config
    p = ctx.profile
    lists, train_len = write_run_lists(
        ctx.data()['lists'], ctx.path('throughput', 'lists'),
        (p.bench_iters + p.bench_warmup) * _max_batch(ctx), p.val_segments)
    os.environ.update(EPIC_VIDEOS=ctx.data()['reencoded_root'], EPIC_LISTS=lists)
    levers = [(spec, parse_spec(spec)) for spec in p.sweep]
    r: Dict[str, Any] = dict(runs=[], best=[], target=THROUGHPUT_TARGET,
                             sweep=list(p.sweep))
    jobs = [(c, s, lv) for c in p.throughput_configs for s, lv in levers]
    for k, (config, spec, lever) in enumerate(jobs):
        cfg = Config.fromfile(osp.join(REPO, config))
        overrides = run_overrides(cfg, train_len, p.bench_iters, p.batch_size, p.workers,
                                  p.shrink_to)
        # the benchmark trains only: no val/test loaders, schedule or logging
        keep = {k2: v for k2, v in overrides.items()
                if k2.startswith(('train_dataloader.', 'visualizer.'))}
        options = BenchmarkOptions(
            config=osp.join(REPO, config),
            work_dir=ctx.path('throughput', config_name(config), spec.replace('+', '_')),
            batch_size=p.batch_size, workers=p.workers, iters=p.bench_iters,
            warmup=p.bench_warmup, device=p.device, levers=lever, cfg_options=keep)
        if p.isolate_sweep:  # the rest of the budget, shared by the runs left
            result = run_in_subprocess(options, timeout=ctx.left() / (len(jobs) - k))
        else:
            try:
                result = run_benchmark(options)
            except Exception as e:  # reported per run, like an isolated run's error
                result = dict(error=f'{type(e).__name__}: {e}')
        result.setdefault('spec', spec)
        r['runs'].append(_summary(config_name(config), result))
        record(r)
    for config in p.throughput_configs:
        done = [x for x in r['runs'] if x['name'] == config_name(config) and 'error' not in x]
        if done:
            best = max(done, key=lambda x: x['clips_per_s'])
            default = next((x for x in done if x['spec'] == 'config'), best)
            r['best'].append(dict(name=best['name'], spec=best['spec'],
                                  clips_per_s=best['clips_per_s'], ratio=best['ratio'],
                                  meets_target=best['ratio'] >= THROUGHPUT_TARGET,
                                  workers_needed=workers_needed(default)))
    record(r)
    errors = [f'{x["name"]} {x["spec"]}: {x["error"]}' for x in r['runs'] if 'error' in x]
    if errors:
        raise StepFailed(f'{len(errors)} throughput runs failed; first: {errors[0]}', r)
    return r


# --- 5. decoding --------------------------------------------------------------------

def _loader_row(what: str, videos: List[str], workers: int, clips_per_worker: int,
                link_dir: str) -> Dict[str, Any]:
    from benchmark.loading import run_loading_benchmark, video_info
    from benchmark.schemes import SCHEMES
    frames, fps, w, h = video_info(videos[0])
    row = dict(what=what, size=f'{w}x{h}', workers=workers)
    try:
        result, = run_loading_benchmark(videos, [SCHEMES['x3d_13x6']], ['ours'], [workers],
                                        clips_per_worker, link_dir, distinct=4, verify=0,
                                        log=lambda *a: None)
    except Exception as e:  # one row's failure is reported in the row
        return dict(row, error=f'{type(e).__name__}: {e}'[:300])
    return dict(row, clips=result.clips, clips_per_s=result.clips_per_s,
                median_ms=result.median_ms)


def _gpu_decoders(videos: List[str], clips: int) -> List[Dict[str, Any]]:
    """Each GPU decoder that may be installed: clips/s on ``videos``, or why not."""
    import torch
    from benchmark.loading import video_info
    from benchmark.schemes import SCHEMES, draw_clips
    info = [video_info(v) for v in videos]
    drawn = draw_clips(videos, [i[0] for i in info], [i[1] for i in info],
                       SCHEMES['x3d_13x6'], clips, seed=0)
    rows = []
    for name, make in (('torchcodec (CUDA)', _torchcodec_decoder),
                       ('PyNvVideoCodec', _nvcodec_decoder),
                       ('PyAV hwaccel cuda', _pyav_hw_decoder)):
        if not torch.cuda.is_available():
            rows.append(dict(name=name, status='not tried', detail='no CUDA device'))
            continue
        try:
            decode = make()
            decode(drawn[0])  # first open and warm-up
            t0 = time.perf_counter()
            for clip in drawn:
                decode(clip)
            torch.cuda.synchronize()
            rows.append(dict(name=name, status='ran',
                             clips_per_s=len(drawn) / (time.perf_counter() - t0),
                             detail=f'{len(drawn)} clips, one process'))
        except Exception as e:  # the report says why this decoder does not run
            rows.append(dict(name=name, status='does not run',
                             detail=f'{type(e).__name__}: {str(e).splitlines()[0][:200]}'
                             if str(e) else type(e).__name__))
    return rows


def _torchcodec_decoder():
    from torchcodec.decoders import VideoDecoder
    cache: Dict[str, Any] = {}

    def decode(clip):
        if clip.path not in cache:
            cache[clip.path] = VideoDecoder(clip.path, device='cuda')
        return cache[clip.path].get_frames_at(indices=list(clip.frame_inds)).data
    return decode


def _nvcodec_decoder():
    import PyNvVideoCodec as nvc

    def decode(clip):
        decoder = nvc.SimpleDecoder(clip.path, gpu_id=0)
        return decoder.get_batch_frames_by_index(list(clip.frame_inds))
    return decode


def _pyav_hw_decoder():
    import av
    from av.codec.hwaccel import HWAccel

    def decode(clip):
        with av.open(clip.path, hwaccel=HWAccel(device_type='cuda',
                                                allow_software_fallback=False)) as c:
            wanted, got = set(clip.frame_inds), 0
            for i, _ in enumerate(c.decode(video=0)):
                got += i in wanted
                if i >= max(wanted):
                    return got
    return decode


def decoding_step(ctx: Context, record: Record) -> Dict[str, Any]:
    """Loader clips/s from both formats with all cores, the one-time tools' speed
    on the 1080p originals (timed in the data step), and GPU decoders."""
    p = ctx.profile
    data = ctx.data()
    r: Dict[str, Any] = dict(loader=[], one_time=[])
    hours = data['video_hours']
    for tool, key in (('clean_segments (originals)', 'clean_originals_s'),
                      ('reencode_videos', 'reencode_s')):
        if key in data:
            r['one_time'].append(dict(tool=tool, workers=data['workers'], video_hours=hours,
                                      seconds=data[key], s_per_video_hour=data[key] / hours,
                                      x_realtime=hours * 3600 / data[key]))
    record(r)
    sets = (('re-encoded, GOP %d' % p.reencoded_gop, data['reencoded_root'], p.reencoded_gop),
            ('originals, GOP %d' % p.original_gop, data['originals_root'], p.original_gop))
    for what, root, gop in sets:
        videos = _videos_under(root)
        row = _loader_row(what, videos, p.decode_workers, p.decode_clips_per_worker,
                          ctx.path('decoding', 'links', str(gop)))
        r['loader'].append(dict(row, gop=gop))
        record(r)
    r['gpu_decoders'] = _gpu_decoders(_videos_under(data['originals_root']),
                                      p.decode_clips_per_worker * 4)
    if not any(g['status'] == 'ran' for g in r['gpu_decoders']):
        r['gpu_decoder_summary'] = 'none runs: ' + '; '.join(
            f'{g["name"]}: {g["detail"]}' for g in r['gpu_decoders'])
    record(r)
    errors = [x['error'] for x in r['loader'] if 'error' in x]
    if errors:
        raise StepFailed(f'loader benchmark failed: {errors[0]}', r)
    return r


STEP_FUNCTIONS: Dict[str, Callable[[Context, Record], Dict[str, Any]]] = dict(
    env=env_step, data=data_step, train=train_step, resume=resume_step,
    throughput=throughput_step, decoding=decoding_step)
#: steps that read the data step's videos and lists
NEEDS_DATA = ('train', 'resume', 'throughput', 'decoding')
