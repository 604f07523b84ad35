"""Whole-video datasets (one labelled clip per video file) -> list files.

Two layouts are read:

* class folders (UCF50, UCF101): ``ROOT/<Class>/v_<Class>_gGG_cCC.avi``; the
  class is the first folder, the group (same actors and scene) comes from a
  regex over the file name (UCF's ``_gGG_``);
* labels in the file name (HRI30): ``ROOT/train/CID01_SID02_VID03.avi``; the
  class (and optionally the group) comes from a regex over the file name.

Splits come from sub-folders (``split_dirs``, e.g. HRI30's ``train/`` and
unlabelled ``test/``) or from a seeded stratified split that keeps each group
in one split (:mod:`.split`). Every video becomes one row of the shared list
format (:mod:`.listfile`): frames ``0`` to its last frame (``-1`` when the
container does not declare a frame count), the class in the verb column,
``-1`` in the noun column, the file name without extension as clip id.
"""
import json
import os
import os.path as osp
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Pattern, Sequence, Tuple

from ..utils import UsageError
from ..utils.fileio import atomic_outputs
from .listfile import TO_END, UNLABELLED, Segment, write_list
from .outdir import check_out_dir, check_targets
from .records import AnnotationError
from .split import SPLITS, check_ratios, stratified_group_split
from .videometa import read_video_meta

LAYOUTS = ('class-folders', 'filename')
VIDEO_EXTENSIONS = ('.avi', '.mp4', '.mkv', '.webm', '.mov')
UCF_GROUP_PATTERN = r'_g(\d+)_'
HRI30_LABEL_PATTERN = r'^(?P<label>CID\d+)_SID\d+_VID\d+$'
AUTO = 'auto'  # split_dirs key: that folder's videos are split by the ratios


@dataclass(frozen=True)
class VideoItem:
    """One video found under the root."""
    path: str  # relative to the root, '/'-separated
    label: Optional[str]  # class key; None: unlabelled
    group: Optional[str]  # None: a group of its own
    source: str  # the split_dirs key it was found under (AUTO: split by ratios)

    @property
    def clip_id(self) -> str:
        """The file name without extension: the list's narration_id."""
        return osp.splitext(self.path.rsplit('/', 1)[-1])[0]


@dataclass
class WholeVideoOptions:
    """What :func:`build_wholevideo_lists` reads and how (tools/build_annotations.py)."""
    root: str
    layout: str = 'class-folders'
    out_dir: str = 'data_lists'
    prefix: Optional[str] = None  # None: the root folder's name, lowercased
    split_ratios: Sequence[float] = (0.7, 0.15, 0.15)  # train, val, test
    seed: int = 0
    # None: UCF's _gGG_ for class folders; for file names, the label pattern's
    # (?P<group>...) if it has one. '': no groups (every video its own)
    group_pattern: Optional[str] = None
    label_pattern: str = HRI30_LABEL_PATTERN
    # split -> folder under root; AUTO -> a folder split by the ratios.
    # Empty: the whole root is split by the ratios
    split_dirs: Dict[str, str] = field(default_factory=dict)
    unlabelled: Sequence[str] = ()  # splits of split_dirs whose videos have no label
    classes_file: Optional[str] = None  # class names by id, one a line
    extensions: Sequence[str] = VIDEO_EXTENSIONS
    count_frames: bool = True

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise UsageError(f'layout must be one of {LAYOUTS}, got {self.layout!r}')
        self.split_ratios = check_ratios(self.split_ratios)
        self.extensions = normalize_extensions(self.extensions)
        for split in self.split_dirs:
            if split not in SPLITS + (AUTO,):
                raise UsageError(f'unknown split {split!r} in split dirs; use one of '
                                 f'{", ".join(SPLITS + (AUTO,))}')
        for split in self.unlabelled:
            if split not in self.split_dirs or split == AUTO:
                raise UsageError(
                    f'unlabelled split {split!r} needs its own folder: give '
                    f'--split-dir {split}=FOLDER')
        if self.uses_ratios:
            clash = [s for s, r in zip(SPLITS, self.split_ratios)
                     if r > 0 and s in self.split_dirs]
            if clash:
                zeroed = [0 if s in clash else r for s, r in zip(SPLITS, self.split_ratios)]
                raise UsageError(
                    f'split(s) {", ".join(clash)} come from a folder, so the ratio split '
                    f'of {self.split_dirs.get(AUTO, "the root")!r} must not fill them: '
                    'give them ratio 0, e.g. --split-ratios '
                    + ' '.join(f'{r / sum(zeroed):.3g}' for r in zeroed))

    @property
    def uses_ratios(self) -> bool:
        """Whether some videos are split by ``split_ratios``."""
        return not self.split_dirs or AUTO in self.split_dirs


def normalize_extensions(extensions: Sequence[str]) -> Tuple[str, ...]:
    """``['AVI', '.mp4']`` -> ``('.avi', '.mp4')``."""
    exts = tuple('.' + e.lower().lstrip('.') for e in extensions if e.strip('.'))
    if not exts:
        raise UsageError('give at least one video extension')
    return exts


def natural_key(text: str) -> tuple:
    """Sort key putting ``CID2`` before ``CID10``."""
    parts = re.split(r'(\d+)', text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), text


def compile_pattern(pattern: str, option: str) -> Pattern:
    try:
        return re.compile(pattern)
    except re.error as e:
        raise AnnotationError(f"{option} '{pattern}' is not a valid regex: {e}") from None


def default_prefix(root: str) -> str:
    """List name prefix from the root folder: ``data/UCF-101`` -> ``ucf-101``."""
    name = osp.basename(osp.normpath(osp.abspath(root))).lower()
    return re.sub(r'[^a-z0-9_.-]+', '_', name).strip('_.') or 'videos'


def find_videos(root: str, folder: str, extensions: Sequence[str],
                ignored: Counter) -> List[str]:
    """Video paths under ``root/folder``, relative to root, sorted.

    Hidden files and folders (``.*``, e.g. macOS ``._x.avi``) are skipped;
    other files without a video extension are counted in ``ignored`` by
    extension. Symlinked folders are followed (once each).
    """
    top = osp.join(root, folder)
    found, seen = [], set()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        real = osp.realpath(dirpath)
        if real in seen:  # a symlink loop or a second link to one folder
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        for name in filenames:
            if name.startswith('.'):
                continue
            ext = osp.splitext(name)[1].lower()
            if ext in extensions:
                path = osp.relpath(osp.join(dirpath, name), root)
                found.append(path.replace(os.sep, '/'))
            else:
                ignored[ext or '(none)'] += 1
    return sorted(found)


def check_no_whitespace(root: str, paths: Sequence[str]) -> None:
    """List files are space-separated: a path with a blank cannot be listed."""
    bad = [p for p in paths if any(c.isspace() for c in p)]
    if bad:
        more = f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''
        raise AnnotationError(
            f'{osp.join(root, bad[0])}: whitespace in the path{more}; list files are '
            'space-separated, so rename the files and folders (e.g. spaces to _)')


def group_of(pattern: Optional[Pattern], stem: str) -> Optional[str]:
    """The group a file name belongs to; None (its own group) without a match.

    The named group ``group``, else the first group, else the whole match;
    a number loses its leading zeros (``g08`` and ``g8`` are one group).
    """
    if pattern is None:
        return None
    m = pattern.search(stem)
    if m is None:
        return None
    if 'group' in pattern.groupindex:
        value = m.group('group')
    else:
        value = m.group(1) if pattern.groups else m.group(0)
    if value is None:
        return None
    return str(int(value)) if value.isdigit() else value


def group_pattern_for(opts: WholeVideoOptions) -> Optional[str]:
    """The group regex in effect; None: every video is its own group."""
    if opts.group_pattern is not None:
        return opts.group_pattern or None
    if opts.layout == 'class-folders':
        return UCF_GROUP_PATTERN
    label_re = compile_pattern(opts.label_pattern, '--label-pattern')
    return opts.label_pattern if 'group' in label_re.groupindex else None


class Labeller:
    """Class key and group of a labelled video, by layout."""

    def __init__(self, opts: WholeVideoOptions) -> None:
        self.layout = opts.layout
        self.label_text = opts.label_pattern
        self.label_re = None
        if opts.layout == 'filename':
            self.label_re = compile_pattern(opts.label_pattern, '--label-pattern')
            if 'label' not in self.label_re.groupindex:
                raise AnnotationError(
                    f"--label-pattern '{opts.label_pattern}' needs a named group "
                    '(?P<label>...) for the class')
        pattern = group_pattern_for(opts)
        self.group_re = compile_pattern(pattern, '--group-pattern') if pattern else None

    def group(self, path: str) -> Optional[str]:
        """The group of any video, labelled or not."""
        return group_of(self.group_re, osp.splitext(path.rsplit('/', 1)[-1])[0])

    def __call__(self, root: str, split: str, folder: str,
                 path: str) -> Tuple[str, Optional[str]]:
        stem = osp.splitext(path.rsplit('/', 1)[-1])[0]
        if self.layout == 'class-folders':
            inner = path[len(folder) + 1:] if folder else path
            if '/' not in inner:
                layout = osp.join(root, folder, '<Class>', '<video>')
                raise AnnotationError(
                    f'{osp.join(root, path)}: video outside a class folder; the '
                    f'class-folders layout is {layout} (move it into its class '
                    'folder or delete it)')
            return inner.split('/', 1)[0], group_of(self.group_re, stem)
        m = self.label_re.search(stem)
        if m is None or m.group('label') is None:
            parent = path.rsplit('/', 1)[0] if '/' in path else '.'
            if split == AUTO:
                fix = (f'give them a split of their own: --split-dir test={parent} '
                       '--unlabelled test (and --split-dir auto=FOLDER for the '
                       'labelled videos)')
            else:
                fix = f'add --unlabelled {split}'
            raise AnnotationError(
                f"{osp.join(root, path)}: file name {stem!r} does not match "
                f"--label-pattern '{self.label_text}'; rename the file, or give a "
                '--label-pattern whose (?P<label>...) group matches every labelled '
                f'file; if the videos in {osp.join(root, parent)} have no labels, {fix}')
        return m.group('label'), group_of(self.group_re, stem)


def scan(opts: WholeVideoOptions, ignored: Optional[Counter] = None) -> List[VideoItem]:
    """Every video under the root, labelled; errors name the file at fault."""
    root = opts.root
    if not osp.isdir(root):
        raise AnnotationError(f'{root}: not a folder (give the video root)')
    ignored = Counter() if ignored is None else ignored
    sources = opts.split_dirs or {AUTO: ''}
    folders = {}
    for split, folder in sources.items():
        norm = osp.normpath(folder).replace(os.sep, '/') if folder else ''
        norm = '' if norm == '.' else norm
        if osp.isabs(norm) or norm == '..' or norm.startswith('../'):
            raise AnnotationError(f'split folder {folder!r} of {split!r} must be a '
                                  f'folder inside {root}')
        if not osp.isdir(osp.join(root, norm)):
            raise AnnotationError(f'{osp.join(root, norm)}: folder of split {split!r} '
                                  'not found')
        folders[split] = norm
    for a, fa in folders.items():
        for b, fb in folders.items():
            if a < b and (fa == fb or not fa or not fb or fa.startswith(fb + '/')
                          or fb.startswith(fa + '/')):
                raise AnnotationError(
                    f'the folders of splits {a!r} ({fa or "."}) and {b!r} '
                    f'({fb or "."}) overlap; give each split its own folder')
    labeller = Labeller(opts)
    items = []
    for split, folder in folders.items():
        paths = find_videos(root, folder, opts.extensions, ignored)
        if not paths:
            raise AnnotationError(
                f'{osp.join(root, folder)}: no videos ({" ".join(opts.extensions)}); '
                'check the folder, or --extensions')
        check_no_whitespace(root, paths)
        for path in paths:
            if split in opts.unlabelled:
                items.append(VideoItem(path, None, labeller.group(path), split))
            else:
                label, group = labeller(root, split, folder, path)
                items.append(VideoItem(path, label, group, split))
    check_unique_clip_ids(root, items)
    return items


def check_unique_clip_ids(root: str, items: Sequence[VideoItem]) -> None:
    """Clip ids (file names without extension) name results: they must differ."""
    first: Dict[str, str] = {}
    for item in items:
        other = first.setdefault(item.clip_id, item.path)
        if other != item.path:
            raise AnnotationError(
                f'{osp.join(root, item.path)} and {osp.join(root, other)} have the '
                f'same clip id {item.clip_id!r} (the file name without extension); '
                'rename one of them')


def read_class_names(path: str) -> List[str]:
    """Class names by id from a classes file: line i (from 0) is class i."""
    try:
        # utf-8-sig: a BOM (as editors on Windows save) is not part of class 0
        with open(path, encoding='utf-8-sig') as f:
            lines = [line.strip() for line in f.read().splitlines()]
    except OSError as e:
        raise AnnotationError(f'cannot read classes file {path}: {e.strerror}') from e
    except UnicodeDecodeError:
        raise AnnotationError(f'{path}: not UTF-8 text; save it as UTF-8') from None
    while lines and not lines[-1]:
        lines.pop()
    for number, name in enumerate(lines, 1):
        if not name:
            raise AnnotationError(f'{path}:{number}: empty line; line i is class i-1, '
                                  'so every line must name a class')
    counts = Counter(lines)
    dup = [name for name, n in counts.items() if n > 1]
    if dup:
        raise AnnotationError(f'{path}: class {dup[0]!r} is listed more than once')
    if not lines:
        raise AnnotationError(f'{path}: no class names')
    return lines


def class_names_for(items: Sequence[VideoItem], classes_file: Optional[str],
                    root: str) -> List[str]:
    """Class names by id: from ``classes_file``, else the label keys in natural order."""
    keys = {item.label for item in items if item.label is not None}
    if classes_file is None:
        return sorted(keys, key=natural_key)
    names = read_class_names(classes_file)
    known = set(names)
    for item in items:
        if item.label is not None and item.label not in known:
            raise AnnotationError(
                f'{classes_file}: has no class {item.label!r} (of '
                f'{osp.join(root, item.path)}); add it at the end of the file (the '
                'ids of the others stay), or leave out --classes to number the '
                'classes afresh')
    return names


def assign_splits(items: Sequence[VideoItem], opts: WholeVideoOptions) -> List[str]:
    """The split of each item: its folder's, or the stratified group split's."""
    auto = [i for i, item in enumerate(items) if item.source == AUTO]
    splits = [item.source for item in items]
    if auto:
        try:
            chosen = stratified_group_split([items[i].label for i in auto],
                                            [items[i].group for i in auto],
                                            opts.split_ratios, opts.seed)
        except ValueError as e:
            raise AnnotationError(f'{osp.join(opts.root, opts.split_dirs.get(AUTO, ""))}'
                                  f': {e}') from None
        for i, split in zip(auto, chosen):
            splits[i] = split
    return splits


def frame_range(root: str, item: VideoItem, count: bool,
                unreadable: List[str]) -> int:
    """``stop`` of the video's row: its last frame, or TO_END when unknown."""
    if not count:
        return TO_END
    try:
        num_frames = read_video_meta(osp.join(root, item.path)).num_frames
    except ValueError:
        unreadable.append(item.path)
        return TO_END
    return num_frames - 1 if num_frames else TO_END


def list_path(out_dir: str, prefix: str, name: str) -> str:
    return osp.join(out_dir, f'{prefix}_{name}.txt')


def build_wholevideo_lists(opts: WholeVideoOptions) -> dict:
    """Scan, split and write the lists, classes file and summary; returns the summary.

    Writes ``PREFIX_{train,val,test}.txt`` (the splits that get videos),
    ``PREFIX_classes.txt`` (when there are classes) and ``PREFIX_split.json``,
    all together or none (a list never sits beside another build's classes).
    """
    check_out_dir(opts.out_dir)
    prefix = opts.prefix or default_prefix(opts.root)
    ignored: Counter = Counter()
    items = scan(opts, ignored)
    classes = class_names_for(items, opts.classes_file, opts.root)
    class_id = {name: i for i, name in enumerate(classes)}
    splits = assign_splits(items, opts)

    unreadable: List[str] = []
    rows: Dict[str, List[Segment]] = {s: [] for s in SPLITS if s in splits}
    members: Dict[str, List[VideoItem]] = {s: [] for s in rows}
    for item, split in zip(items, splits):
        stop = frame_range(opts.root, item, opts.count_frames, unreadable)
        label = UNLABELLED if item.label is None else class_id[item.label]
        rows[split].append(Segment(item.path, 0, stop, label, UNLABELLED, item.clip_id))
        members[split].append(item)

    summary = dict(
        format=opts.layout, root=osp.abspath(opts.root), prefix=prefix,
        seed=opts.seed if opts.uses_ratios else None,
        split_ratios=dict(zip(SPLITS, opts.split_ratios)) if opts.uses_ratios else None,
        split_dirs=dict(opts.split_dirs), unlabelled=list(opts.unlabelled),
        label_pattern=opts.label_pattern if opts.layout == 'filename' else None,
        group_pattern=group_pattern_for(opts), extensions=list(opts.extensions),
        classes=dict(num_classes=len(classes), file=None,
                     order=opts.classes_file or 'label keys in natural order'),
        frames=dict(counted=opts.count_frames,
                    to_end=sum(s.to_end for r in rows.values() for s in r),
                    unreadable_headers=unreadable),
        ignored_files=dict(sorted(ignored.items())), splits={})
    # path -> writer of its temporary; committed together at the end
    outputs: Dict[str, Callable[[str], None]] = {}
    for split, segments in rows.items():
        path = list_path(opts.out_dir, prefix, split)
        outputs[path] = lambda tmp, segments=segments: write_list(tmp, segments)
        found = members[split]
        per_class = Counter(item.label for item in found if item.label is not None)
        groups = {item.group for item in found if item.group is not None}
        by_ratio = split not in opts.split_dirs
        summary['splits'][split] = dict(
            list=path, videos=len(found), labelled=sum(per_class.values()),
            folder=(opts.split_dirs.get(AUTO, '.') if by_ratio
                    else opts.split_dirs[split]) or '.',
            by_ratio=by_ratio,
            per_class={name: per_class[name] for name in classes},
            groups=sorted(groups, key=natural_key),
            ungrouped=sum(item.group is None for item in found))
    shared = Counter(g for info in summary['splits'].values() for g in info['groups'])
    summary['groups_in_several_splits'] = sorted(
        (g for g, n in shared.items() if n > 1), key=natural_key)
    summary['stale_lists'] = [
        list_path(opts.out_dir, prefix, s) for s in SPLITS
        if s not in rows and osp.exists(list_path(opts.out_dir, prefix, s))]
    if classes:
        classes_path = osp.join(opts.out_dir, f'{prefix}_classes.txt')
        outputs[classes_path] = lambda tmp: _write_lines(tmp, classes)
        summary['classes']['file'] = classes_path
    summary_path = osp.join(opts.out_dir, f'{prefix}_split.json')
    outputs[summary_path] = lambda tmp: _write_json(tmp, summary)
    check_targets(list(outputs))
    with atomic_outputs(list(outputs)) as temps:
        for tmp, write in zip(temps, outputs.values()):
            write(tmp)
    summary['summary'] = summary_path
    return summary


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(line + '\n' for line in lines)


def _write_json(path: str, data: dict) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1)


__all__ = ['LAYOUTS', 'VIDEO_EXTENSIONS', 'UCF_GROUP_PATTERN', 'HRI30_LABEL_PATTERN',
           'AUTO', 'VideoItem', 'WholeVideoOptions', 'scan', 'find_videos',
           'group_of', 'natural_key', 'read_class_names', 'class_names_for',
           'assign_splits', 'default_prefix', 'build_wholevideo_lists']
