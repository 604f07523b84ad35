"""Synthetic whole-video datasets: one clip per file, one class per clip.

Tests and demos of the whole-video list builders need the two layouts the
public datasets use, with content a model can learn from:

* class folders (UCF50/UCF101): ``ROOT/<Class>/v_<Class>_gGG_cCC.avi``, where
  ``gGG`` is the group (same actors and scene within a group);
* labels coded in the file name (HRI30): ``ROOT/train/CIDxx_SIDyy_VIDzz.avi``
  and an unlabelled ``ROOT/test/`` folder of anonymous names.

Class ``c`` is a coloured shape (noun ``c % 12`` of :mod:`.scene`) making a
motion (verb ``(c + c // 12) % 6``), distinct for up to 72 classes; groups
share a background. ``.avi`` files are MPEG-4 Part 2 in AVI (as UCF50's
xvid files), ``.mp4`` files H.264; every frame carries its frame code.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np

from .scene import NOUNS, VERBS, Action, make_background, plan_pose, render_frame

MAX_CLASSES = len(NOUNS) * len(VERBS)


def class_action(class_id: int) -> tuple:
    """(verb, noun) of :mod:`.scene` that draws ``class_id``."""
    if not 0 <= class_id < MAX_CLASSES:
        raise ValueError(f'class_id must be in [0, {MAX_CLASSES}), got {class_id}')
    return (class_id + class_id // len(NOUNS)) % len(VERBS), class_id % len(NOUNS)


def class_name(class_id: int) -> str:
    """A readable, file-name-safe class name, e.g. ``MoveLeftRedBar``."""
    verb, noun = class_action(class_id)
    words = VERBS[verb].split('-') + NOUNS[noun].split('-')
    return ''.join(w.capitalize() for w in words)


def write_class_clip(path: str, class_id: int, num_frames: int = 24,
                     fps: float = 25.0, size: tuple = (64, 64), seed: int = 0,
                     background: Optional[np.ndarray] = None,
                     object_scale: float = 0.35) -> str:
    """Render and encode one clip of ``class_id`` (temp name, then rename)."""
    import av
    width, height = size
    rng = np.random.default_rng([seed, class_id])
    if background is None:
        background = make_background(width, height, rng)
    verb, noun = class_action(class_id)
    x0, y0, angle0 = plan_pose(verb, num_frames, fps, width, height, rng)
    action = Action(0, num_frames - 1, verb, noun, x0, y0, angle0)
    ext = osp.splitext(path)[1].lower()
    if ext not in ('.avi', '.mp4'):
        raise ValueError(f'{path}: write .avi (MPEG-4) or .mp4 (H.264) clips')
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = path + '.part'
    with av.open(tmp, 'w', format=ext[1:]) as container:
        if ext == '.avi':
            stream = container.add_stream('mpeg4', rate=int(round(fps)))
            stream.options = {'qscale': '3', 'g': '12'}
        else:
            stream = container.add_stream('libx264', rate=int(round(fps)))
            stream.options = {'crf': '20', 'preset': 'veryfast', 'g': '12',
                              'bf': '2'}
        stream.width, stream.height = width, height
        stream.pix_fmt = 'yuv420p'
        stream.thread_count = 1
        for i in range(num_frames):
            img = render_frame(background, action, i, fps, object_scale)
            frame = av.VideoFrame.from_ndarray(img, format='rgb24')
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    os.replace(tmp, path)
    return path


@dataclass(frozen=True)
class ClipSpec:
    """One clip of a synthetic whole-video dataset."""
    path: str  # relative to the dataset root
    class_id: int  # -1: the layout does not label it (HRI30's test folder)
    group: int
    true_class: int  # what it shows, labelled or not


def class_folder_specs(num_classes: int, num_groups: int, clips_per_group: int,
                       ext: str = '.avi') -> List[ClipSpec]:
    """UCF layout: ``<Class>/v_<Class>_gGG_cCC<ext>`` (groups from 1)."""
    specs = []
    for c in range(num_classes):
        name = class_name(c)
        for g in range(1, num_groups + 1):
            for k in range(1, clips_per_group + 1):
                specs.append(ClipSpec(f'{name}/v_{name}_g{g:02d}_c{k:02d}{ext}', c, g, c))
    return specs


def filename_coded_specs(num_classes: int, num_subjects: int, clips_per_subject: int,
                         num_test: int = 0, ext: str = '.avi') -> List[ClipSpec]:
    """HRI30 layout: ``train/CIDxx_SIDyy_VIDzz<ext>`` (ids from 1) and
    ``test/<n><ext>``, unlabelled, classes in turn."""
    specs = []
    for c in range(num_classes):
        for s in range(1, num_subjects + 1):
            for v in range(1, clips_per_subject + 1):
                specs.append(ClipSpec(f'train/CID{c + 1:02d}_SID{s:02d}_VID{v:02d}{ext}',
                                      c, s, c))
    for n in range(num_test):
        specs.append(ClipSpec(f'test/{n + 1:04d}{ext}', -1, 0, n % num_classes))
    return specs


def write_clip_dataset(root: str, specs: Sequence[ClipSpec], num_frames: int = 24,
                       fps: float = 25.0, size: tuple = (64, 64),
                       seed: int = 0) -> Dict[str, int]:
    """Write every clip of ``specs`` under ``root``; returns path -> true class.

    Clips of one group share a background, as a UCF group shares a scene.
    """
    backgrounds: Dict[int, np.ndarray] = {}
    truth = {}
    for i, spec in enumerate(specs):
        if spec.group not in backgrounds:
            rng = np.random.default_rng([seed, 1_000 + spec.group])
            backgrounds[spec.group] = make_background(size[0], size[1], rng)
        write_class_clip(osp.join(root, spec.path), spec.true_class, num_frames, fps,
                         size, seed=seed * 100_003 + i,
                         background=backgrounds[spec.group])
        truth[spec.path] = spec.true_class
    return truth


__all__ = ['MAX_CLASSES', 'ClipSpec', 'class_action', 'class_name', 'write_class_clip',
           'class_folder_specs', 'filename_coded_specs', 'write_clip_dataset']
