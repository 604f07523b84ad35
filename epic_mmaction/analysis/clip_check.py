"""Load clips the way training does and check them (``tools/check_clips.py``).

Each sample goes through the config's pipeline once, in two parts: its
loading prefix up to ``DecordDecode``, after which the decoded frames are
compared with the sampled ``frame_inds`` and the segment (on synthetic data,
also with the frame codes burnt into the frames and with the generator's
ground truth: each frame shows the labelled action), then the rest of it
(shapes, time per clip). So the frames checked are the ones the model gets,
each decoded once.
The inputs (a non-empty list, every video there, every video in the truth
file) are checked before the first clip is decoded.
"""
import copy
import json
import os.path as osp
import time
from typing import Dict, List, Optional

import numpy as np

from ..utils.errors import EpicError


class ClipCheckError(EpicError, ValueError):
    """Inputs the clip check cannot use; the message names the file and fix."""


def _loading_prefix(pipeline: list) -> list:
    for i, step in enumerate(pipeline):
        if step['type'] == 'DecordDecode':
            return pipeline[:i + 1]
    raise ClipCheckError('the dataset pipeline has no DecordDecode step: check_clips '
                         'reads the frames a video pipeline decodes; pass a video '
                         'config (SegmentVideoInit + DecordDecode)')


def _truth_lookup(truth_path: str):
    """video_id -> (event starts, events) from ``synthetic_truth.json``."""
    fix = ("pass the synthetic_truth.json that tools/make_synthetic_epic.py wrote "
           'for this dataset')
    try:
        with open(truth_path, encoding='utf-8') as f:
            truth = json.load(f)
        return {v['video_id']: (np.array([e['start'] for e in v['events']]),
                                v['events'])
                for v in truth['videos']}
    except OSError as e:
        raise ClipCheckError(f'--truth {truth_path}: cannot read it ({e.strerror}); '
                             f'{fix}') from None
    except ValueError as e:
        raise ClipCheckError(f'--truth {truth_path}: not JSON ({e}); {fix}') from None
    except (KeyError, TypeError) as e:
        raise ClipCheckError(f'--truth {truth_path}: not a synthetic truth file '
                             f'(no {e} in it); {fix}') from None


def check_inputs(dataset, samples: List[int], lookup: Optional[dict] = None,
                 truth: Optional[str] = None) -> None:
    """Refuse an empty list, a missing video or one the truth does not know,
    before any clip is decoded (a traceback after minutes otherwise)."""
    ann_file = getattr(dataset, 'ann_file', '?')
    if len(dataset) == 0:
        raise ClipCheckError(f'{ann_file}: the list has no segments: check the '
                             "config's ann_file, or rebuild the list")
    seen: Dict[str, str] = {}
    for idx in samples:
        info = dataset.get_data_info(idx)
        path, nid = info['filename'], info['narration_id']
        if path not in seen:
            seen[path] = nid
            if not osp.exists(path):
                raise ClipCheckError(
                    f'{path}: video of {nid} ({ann_file}) does not exist: check '
                    "the config's data_prefix (or $EPIC_VIDEOS), or run "
                    'tools/clean_segments.py on the list')
        if lookup is not None and info['video_id'] not in lookup:
            raise ClipCheckError(
                f"--truth {truth}: no video {info['video_id']} (of {nid} in "
                f'{ann_file}): the truth file belongs to another dataset; pass '
                'the synthetic_truth.json written with these videos')


def _label_problem(lookup, results, codes) -> Optional[str]:
    starts, events = lookup[results['video_id']]
    labelled = results['verb_label'] >= 0
    for code in np.unique(codes):
        event = events[int(np.searchsorted(starts, code, side='right')) - 1]
        if not event['annotated'] or (labelled and (
                event['verb'], event['noun']) != (results['verb_label'],
                                                  results['noun_label'])):
            return (f"{results['narration_id']}: frame {code} shows verb "
                    f"{event['verb']} noun {event['noun']}"
                    f"{'' if event['annotated'] else ' (a distractor)'}, labelled "
                    f"{results['verb_label']} {results['noun_label']}")
    return None


def check_clips(dataset_cfg: dict, num: Optional[int] = None,
                frame_codes: bool = False, seed: int = 0,
                truth: Optional[str] = None) -> dict:
    """Check ``num`` samples (all if None) of a dataset config; returns a report.

    ``truth`` (a synthetic ``synthetic_truth.json``) also checks that every
    decoded frame shows the labelled action; it implies ``frame_codes``.
    """
    from mmaction.registry import DATASETS  # the caller imported epic_mmaction.plugin
    from mmengine.dataset import Compose

    from ..synthetic.framecode import FrameCodeError, read_frame_codes
    lookup = _truth_lookup(truth) if truth else None
    frame_codes = frame_codes or lookup is not None
    raw_cfg = copy.deepcopy(dataset_cfg)
    loading = _loading_prefix(raw_cfg['pipeline'])
    rest = Compose(raw_cfg['pipeline'][len(loading):])  # after DecordDecode
    raw_cfg['pipeline'] = loading
    raw = DATASETS.build(raw_cfg)
    indices = np.arange(len(raw))
    if num is not None and num < len(raw):
        indices = np.sort(np.random.default_rng(seed).choice(indices, num, replace=False))
    check_inputs(raw, indices.tolist(), lookup, truth)
    problems, shapes, seconds = [], set(), []
    for idx in indices.tolist():
        start = time.perf_counter()
        results = raw[idx]
        decoded = time.perf_counter() - start
        nid = results['narration_id']
        inds = np.asarray(results['frame_inds'])
        lo, hi = results['segment_start'], results['segment_stop']
        if inds.min() < lo or inds.max() > hi:
            problems.append(f'{nid}: frames {inds.min()}..{inds.max()} outside {lo}..{hi}')
        if len(results['imgs']) != len(inds):
            problems.append(f'{nid}: {len(results["imgs"])} frames for {len(inds)} indices')
        if frame_codes:
            try:
                codes = read_frame_codes(results['imgs'])
            except FrameCodeError as e:
                problems.append(f'{nid}: {e}')
                continue
            if not np.array_equal(codes, inds):
                bad = np.flatnonzero(codes != inds)[0]
                problems.append(f'{nid}: decoded frame {codes[bad]} where frame '
                                f'{inds[bad]} was asked for')
            elif lookup is not None:
                problem = _label_problem(lookup, results, codes)
                if problem:
                    problems.append(problem)
        start = time.perf_counter()
        packed = rest(results)  # the frames checked above, as the model gets them
        seconds.append(decoded + time.perf_counter() - start)
        shapes.add(tuple(packed['inputs'].shape))
    return dict(samples=len(indices), dataset_size=len(raw), problems=problems,
                input_shapes=sorted(shapes),
                ms_per_clip_median=1000 * float(np.median(seconds)) if seconds else 0.0,
                frame_codes_checked=frame_codes, labels_checked=lookup is not None)
