"""Generate an EPIC-KITCHENS-100-format dataset of long synthetic videos.

Layout, names and CSV columns follow the official release, so every tool of
this project runs on it unchanged: ``videos/PXX/PXX_YY.MP4`` (and extension
style ``PXX_1YY``), ``EPIC_100_{train,validation,test_timestamps}.csv``,
class CSVs and ``EPIC_100_video_info.csv``. Annotated actions alternate with
unannotated distractor actions of *other* classes, so a segment decoded from
the wrong frames gets the wrong label. ``synthetic_truth.json`` records every
event's exact frame range for tests.
"""
import csv
import json
import math
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from multiprocessing import get_context
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..annotations.timestamps import format_timestamp
from ..utils.fileio import atomic_write
from .scene import (COLOURS, MOVE_SPEED, NOUNS, TURN_SPEED, VERBS, Action, class_rows,
                    make_background, max_event_seconds, plan_pose, render_frame)

SPLITS = ('train', 'validation', 'test')
LABELLED_COLUMNS = ['narration_id', 'participant_id', 'video_id',
                    'narration_timestamp', 'start_timestamp', 'stop_timestamp',
                    'start_frame', 'stop_frame', 'narration', 'verb',
                    'verb_class', 'noun', 'noun_class', 'all_nouns',
                    'all_noun_classes']
TEST_COLUMNS = LABELLED_COLUMNS[:8]
CSV_NAMES = {'train': 'EPIC_100_train.csv',
             'validation': 'EPIC_100_validation.csv',
             'test': 'EPIC_100_test_timestamps.csv'}


def fps_fraction(fps: float) -> Fraction:
    """59.94 -> 60000/1001 (NTSC rates are exact fractions), 50 -> 50."""
    for base in (24, 30, 48, 60, 120):
        if abs(fps - base * 1000 / 1001) < 0.005:
            return Fraction(base * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


@dataclass
class SyntheticConfig:
    """Everything that determines the generated dataset (with ``seed``)."""
    videos: Dict[str, int] = field(
        default_factory=lambda: {'train': 6, 'validation': 2, 'test': 2})
    duration: float = 60.0  # seconds per video
    fps: Sequence[float] = (59.94, 50.0)  # cycled over videos
    width: int = 256
    height: int = 144
    gop: int = 250  # x264's default keyint, as in camera footage
    bframes: int = 2  # 0 = no B-frames
    crf: int = 20
    object_scale: float = 0.2  # sprite side / frame height below the code strip
    extension_every: int = 2  # every 2nd video is named PXX_1YY (50 fps count)
    faststart: bool = False
    action_seconds: Sequence[float] = (1.0, 3.0)
    distractor_seconds: Sequence[float] = (0.5, 2.0)
    # faster moves show more motion between sampled frames, and cap events
    # shorter (a move stays inside the frame): more events per video second
    move_speed: float = MOVE_SPEED  # fraction of the free width (height) per second
    turn_speed: float = TURN_SPEED  # degrees per second
    quirks: bool = True  # add EPIC's annotation quirks to the train CSV
    # x264 without its assembly (asm=0): the same bytes on every run, at about
    # half the encoding speed. With assembly, the same frames and options (one
    # thread) sometimes gave different bytes, even in one process: read as
    # uninitialised memory in a SIMD path, not a setting
    reproducible: bool = False
    seed: int = 0


@dataclass
class VideoPlan:
    video_id: str
    participant_id: str
    split: str
    fps: Fraction
    num_frames: int
    events: List[Action]
    annotated: List[bool]

    @property
    def nominal_fps(self) -> int:
        return 50 if len(self.video_id.split('_')[1]) == 3 else 60

    @property
    def rel_path(self) -> str:
        return f'{self.participant_id}/{self.video_id}.MP4'


def plan_events(num_frames: int, fps: float, width: int, height: int,
                cfg: SyntheticConfig, rng: np.random.Generator):
    """Alternate annotated actions and distractors, starting and ending on an action.

    Distractors differ from their neighbours in verb *and* noun.
    """
    events: List[Action] = []
    annotated: List[bool] = []
    frame, is_action, prev = 0, True, None
    while frame < num_frames:
        lo, hi = cfg.action_seconds if is_action else cfg.distractor_seconds
        hi = min(hi, max_event_seconds(cfg.move_speed))
        length = max(2, int(round(rng.uniform(min(lo, hi), hi) * fps)))
        stop = min(frame + length, num_frames) - 1
        if num_frames - 1 - stop < max(2, int(lo * fps)):
            stop = num_frames - 1  # no stub at the end: the last event takes it
            is_action = True
        while True:
            verb, noun = int(rng.integers(len(VERBS))), int(rng.integers(len(NOUNS)))
            if prev is None or (verb != prev[0] and noun != prev[1]):
                break
        x0, y0, ang = plan_pose(verb, stop - frame + 1, fps, width, height, rng,
                                cfg.move_speed)
        events.append(Action(frame, stop, verb, noun, x0, y0, ang, cfg.move_speed,
                             cfg.turn_speed))
        annotated.append(is_action)
        prev, frame, is_action = (verb, noun), stop + 1, not is_action
    return events, annotated


def plan_dataset(cfg: SyntheticConfig) -> List[VideoPlan]:
    """Video names, participants, frame rates and events for every split."""
    plans = []
    counters: Dict[str, List[int]] = {}
    index = 0
    for s, split in enumerate(SPLITS):
        for k in range(cfg.videos.get(split, 0)):
            # each split has a participant of its own plus shared ones
            participant = f'P{(k % 3) + 1 + (3 * s if k % 3 == 2 else 0):02d}'
            ext = cfg.extension_every > 0 and index % cfg.extension_every == 1
            seen = counters.setdefault(participant, [0, 0])
            seen[ext] += 1
            number = 100 + seen[1] if ext else seen[0]
            video_id = f'{participant}_{number:02d}'
            fps = fps_fraction(cfg.fps[index % len(cfg.fps)])
            num_frames = int(math.floor(cfg.duration * fps))
            rng = np.random.default_rng([cfg.seed, index])
            events, annotated = plan_events(num_frames, float(fps), cfg.width,
                                            cfg.height, cfg, rng)
            plans.append(VideoPlan(video_id, participant, split, fps, num_frames,
                                   events, annotated))
            index += 1
    return plans


def encode_video(plan: VideoPlan, path: str, cfg: SyntheticConfig) -> None:
    """Render and encode one video with libx264 (written to a temp name first)."""
    import av
    rng = np.random.default_rng([cfg.seed, 10_000 + sum(map(ord, plan.video_id))])
    background = make_background(cfg.width, cfg.height, rng)
    os.makedirs(osp.dirname(path), exist_ok=True)
    tmp = path + '.part'
    options = {'movflags': '+faststart'} if cfg.faststart else {}
    with av.open(tmp, 'w', format='mp4', options=options) as container:
        stream = container.add_stream('libx264', rate=plan.fps)
        stream.width, stream.height = cfg.width, cfg.height
        stream.pix_fmt = 'yuv420p'
        stream.codec_context.time_base = 1 / plan.fps
        x264 = {'crf': str(cfg.crf), 'preset': 'veryfast', 'g': str(cfg.gop),
                'keyint_min': str(cfg.gop), 'bf': str(cfg.bframes), 'sc_threshold': '0'}
        if cfg.reproducible:
            x264['x264-params'] = 'asm=0'
        stream.options = x264
        stream.thread_count = 1
        fps = float(plan.fps)
        for event in plan.events:
            for i in range(event.start, event.stop + 1):
                img = render_frame(background, event, i, fps, cfg.object_scale)
                frame = av.VideoFrame.from_ndarray(img, format='rgb24')
                frame.pts = i
                container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.replace(tmp, path)


def _annotation_row(plan: VideoPlan, k: int, event: Action, labelled: bool) -> dict:
    fps = float(plan.fps)
    start_t, stop_t = event.start / fps, (event.stop + 1) / fps
    nominal = plan.nominal_fps
    row = dict(
        narration_id=f'{plan.video_id}_{k}', participant_id=plan.participant_id,
        video_id=plan.video_id,
        narration_timestamp=format_timestamp((start_t + stop_t) / 2, 3),
        start_timestamp=format_timestamp(start_t),
        stop_timestamp=format_timestamp(stop_t),
        # EPIC counts these at the nominal rate: floor(time * 60 or 50)
        start_frame=max(1, int(math.floor(start_t * nominal))),
        stop_frame=int(math.floor(stop_t * nominal)))
    if labelled:
        verb, noun = VERBS[event.verb], NOUNS[event.noun]
        row.update(narration=f'{verb} {noun}', verb=verb, verb_class=event.verb,
                   noun=noun, noun_class=event.noun, all_nouns=str([noun]),
                   all_noun_classes=str([event.noun]))
    return row


def narration_events(plans: Sequence[VideoPlan]) -> Dict[str, tuple]:
    """``narration_id -> (plan, event)`` for every annotated event: the truth
    behind each CSV row (quirk rows aside)."""
    found = {}
    for plan in plans:
        actions = [e for e, annotated in zip(plan.events, plan.annotated) if annotated]
        for k, event in enumerate(actions):
            found[f'{plan.video_id}_{k}'] = (plan, event)
    return found


def annotation_rows(plan: VideoPlan, quirks: bool) -> List[dict]:
    """EPIC CSV rows for the annotated events; with ``quirks``, EPIC's oddities.

    The quirks (train only): a missing narration timestamp (kept by the
    builder), and one zero-length and one reversed range (dropped by it).
    """
    labelled = plan.split != 'test'
    rows = []
    for event, is_action in zip(plan.events, plan.annotated):
        if is_action:
            rows.append(_annotation_row(plan, len(rows), event, labelled))
    if quirks and plan.split == 'train' and len(rows) >= 3:
        rows[1]['narration_timestamp'] = ''
        zero = dict(rows[2], narration_id=f'{plan.video_id}_{len(rows)}')
        zero['stop_timestamp'] = zero['start_timestamp']
        reverse = dict(rows[2], narration_id=f'{plan.video_id}_{len(rows) + 1}')
        reverse['start_timestamp'], reverse['stop_timestamp'] = (
            rows[2]['stop_timestamp'], rows[2]['start_timestamp'])
        rows += [zero, reverse]
    return rows


def _write_csv(path: str, columns: List[str], rows: List[dict]) -> None:
    with atomic_write(path, newline='') as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


def _encode_job(args) -> str:
    plan, path, cfg = args
    encode_video(plan, path, cfg)
    return path


def generate(out_dir: str, cfg: Optional[SyntheticConfig] = None,
             workers: int = 1, progress: bool = False) -> List[VideoPlan]:
    """Write the whole dataset to ``out_dir``; returns the plans (ground truth)."""
    cfg = cfg or SyntheticConfig()
    plans = plan_dataset(cfg)
    jobs = [(p, osp.join(out_dir, 'videos', p.rel_path), cfg) for p in plans]
    if workers > 1:
        with get_context('spawn').Pool(workers) as pool:
            for path in pool.imap_unordered(_encode_job, jobs):
                if progress:
                    print(f'wrote {path}', flush=True)
    else:
        for job in jobs:
            path = _encode_job(job)
            if progress:
                print(f'wrote {path}', flush=True)

    for split in SPLITS:
        rows = [r for p in plans if p.split == split
                for r in annotation_rows(p, cfg.quirks)]
        columns = TEST_COLUMNS if split == 'test' else LABELLED_COLUMNS
        _write_csv(osp.join(out_dir, CSV_NAMES[split]), columns, rows)
    _write_csv(osp.join(out_dir, 'EPIC_100_verb_classes.csv'),
               ['id', 'key', 'instances', 'category'], class_rows(VERBS, 'motion'))
    _write_csv(osp.join(out_dir, 'EPIC_100_noun_classes.csv'),
               ['id', 'key', 'instances', 'category'], class_rows(NOUNS, 'shape'))
    _write_csv(osp.join(out_dir, 'EPIC_100_video_info.csv'),
               ['video_id', 'duration', 'fps', 'resolution'],
               [dict(video_id=p.video_id, duration=p.num_frames / float(p.fps),
                     fps=float(p.fps), resolution=f'{cfg.width}x{cfg.height}')
                for p in plans])
    truth = dict(config={k: (list(v) if isinstance(v, tuple) else v)
                         for k, v in asdict(cfg).items()},
                 verbs=VERBS, nouns=NOUNS, colours=list(COLOURS),
                 videos=[dict(video_id=p.video_id, participant_id=p.participant_id,
                              split=p.split, path=p.rel_path,
                              fps=[p.fps.numerator, p.fps.denominator],
                              num_frames=p.num_frames,
                              events=[dict(asdict(e), annotated=a)
                                      for e, a in zip(p.events, p.annotated)])
                         for p in plans])
    with atomic_write(osp.join(out_dir, 'synthetic_truth.json')) as f:
        json.dump(truth, f, indent=1)
    return plans
