"""Analyse a results file: confusion matrices, per-class metrics, predictions.

RESULTS is a results .npz of tools/test.py --dump: EPIC verb/noun results
(give --verb-classes and --noun-classes) or, for single-label datasets, per-clip
results (give --classes); the file's format says which. Writes to --out-dir:

EPIC verb/noun results (labels are the file's own; segments it leaves
unlabelled take theirs from --gt when given):

    verb_confusion.png, noun_confusion.png   top-N ground-truth classes
    verb_confusion.csv, noun_confusion.csv   full count matrices
    verb_per_class.csv, noun_per_class.csv   precision/recall/F1/support
    predictions.csv                          top-5 verbs/nouns/actions, scores

Single-label results:

    confusion.png                            top-N ground-truth classes
    confusion.csv                            full count matrix
    per_class.csv                            precision/recall/F1/support
    predictions.csv                          label, top-1 and top-5 classes, scores

and prints top-1 accuracy (and for single-label results top-5 and mean class
accuracy). Unlabelled segments or clips appear only in predictions.csv.

Examples::

    python tools/analyze_results.py work_dirs/x3d_s/val_results.npz \\
        --gt data/epic100/EPIC_100_validation.csv \\
        --verb-classes data/epic100/EPIC_100_verb_classes.csv \\
        --noun-classes data/epic100/EPIC_100_noun_classes.csv \\
        --out-dir work_dirs/x3d_s/analysis

    python tools/analyze_results.py work_dirs/x3d_ucf50/test_results.npz \\
        --classes data_lists/ucf50/ucf50_classes.txt \\
        --out-dir work_dirs/x3d_ucf50/analysis
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from epic_mmaction.analysis import (clip_predictions_table, confusion_matrix,
                                    per_class_table, plot_confusion, predictions_table,
                                    resolve_labels, write_confusion_csv,
                                    write_per_class_csv, write_predictions_csv)
from epic_mmaction.annotations.records import read_classes
from epic_mmaction.annotations.wholevideo import read_class_names
from epic_mmaction.evaluation import mean_class_accuracy, top_k, topk_accuracy
from epic_mmaction.results import ClipResults, EpicResults, load_any_results
from epic_mmaction.utils import UsageError
from epic_mmaction.utils.cli import tool_main

PROG = 'analyze_results.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('results', help='results .npz (tools/test.py --dump)')
    p.add_argument('--gt', default='none', help="EPIC results: labelled split CSV (e.g. "
                   "EPIC_100_validation.csv) for segments the results leave unlabelled, "
                   "or 'none'. Defaults to %(default)s")
    p.add_argument('--verb-classes', help='EPIC results: EPIC_100_verb_classes.csv')
    p.add_argument('--noun-classes', help='EPIC results: EPIC_100_noun_classes.csv')
    p.add_argument('--classes', help='single-label results: class-name file, one name a '
                   'line, line i = class i (the list builder\'s PREFIX_classes.txt)')
    p.add_argument('--out-dir', required=True, help='where the PNGs and CSVs go')
    p.add_argument('--top-n', type=int, default=20,
                   help='classes shown in the confusion plots. Defaults to %(default)s')
    p.add_argument('--top-k', type=int, default=5,
                   help='predictions per task in predictions.csv. Defaults to %(default)s')
    p.add_argument('--counts', action='store_true',
                   help='plot counts instead of row-normalised fractions')
    return p.parse_args(argv)


def write_task(args: argparse.Namespace, prefix: str, score: np.ndarray,
               label: np.ndarray, names: Sequence[str], title: str,
               unit: str) -> Tuple[np.ndarray, pd.DataFrame, List[str]]:
    """Confusion PNG/CSV and per-class CSV of one task's labelled rows.

    Returns ``(matrix, per_class, paths written)``; files are named
    ``{prefix}confusion.png`` and so on.
    """
    out = lambda name: osp.join(args.out_dir, prefix + name)  # noqa: E731
    matrix = confusion_matrix(label, score.argmax(axis=1), score.shape[1])
    per_class = per_class_table(matrix, names)
    written = [
        plot_confusion(matrix, names, out('confusion.png'), top_n=args.top_n,
                       normalize=not args.counts, title=title, unit=unit),
        write_confusion_csv(matrix, names, out('confusion.csv')),
        write_per_class_csv(per_class, out('per_class.csv')),
    ]
    return matrix, per_class, written


def analyze_epic(args: argparse.Namespace, results: EpicResults) -> List[str]:
    """EPIC verb/noun results: per-task outputs and per-narration predictions."""
    if args.classes is not None:
        raise UsageError(f'{args.results} holds EPIC verb/noun results: give '
                         '--verb-classes and --noun-classes, not --classes (which is for '
                         'single-label results)')
    if args.verb_classes is None or args.noun_classes is None:
        raise UsageError(f'{args.results} holds EPIC verb/noun results: give '
                         '--verb-classes and --noun-classes (EPIC_100_verb_classes.csv, '
                         'EPIC_100_noun_classes.csv)')
    names = {'verb': read_classes(args.verb_classes),
             'noun': read_classes(args.noun_classes)}
    for task, num, csv_path in (('verb', results.num_verbs, args.verb_classes),
                                ('noun', results.num_nouns, args.noun_classes)):
        if len(names[task]) != num:
            raise UsageError(f'{csv_path} has {len(names[task])} {task} classes but '
                             f'{args.results} has {num} {task} scores per segment')
    gt = None if args.gt.lower() == 'none' else args.gt
    labels = resolve_labels(results, gt)
    written = []
    table = predictions_table(results, names['verb'], names['noun'], labels.verb,
                              labels.noun, k=args.top_k)
    written.append(write_predictions_csv(table, osp.join(args.out_dir, 'predictions.csv')))

    mask = labels.labelled
    source = f'{labels.from_results} by the results file'
    if gt is not None:
        source += f', {labels.from_gt} by {gt}'
    print(f'{len(results)} segments of {args.results}: {int(mask.sum())} labelled '
          f'({source})')
    if labels.disagree:
        print(f'warning: {labels.disagree} segments have labels in the results that '
              f'differ from {gt}; the results file\'s were used', file=sys.stderr)
    if (~mask).any():
        print(f'skipped {int((~mask).sum())} unlabelled segments for the confusion '
              'matrices and per-class metrics')
    if not mask.any():
        print('no labelled segments: wrote only predictions.csv')
        return written
    for task, score, label in (('verb', results.verb_score, labels.verb),
                               ('noun', results.noun_score, labels.noun)):
        matrix, per_class, paths = write_task(args, f'{task}_', score[mask], label[mask],
                                              names[task], f'{task}s', 'segments')
        written.extend(paths)
        accuracy = 100 * np.trace(matrix) / matrix.sum()
        print(f'{task} top-1 {accuracy:.2f}%, {len(per_class)} classes present or '
              'predicted')
    action = table['action_correct'].dropna()
    print(f'action top-1 {100 * action.mean():.2f}%')
    return written


def analyze_clips(args: argparse.Namespace, results: ClipResults) -> List[str]:
    """Single-label results: confusion, per-class and per-clip predictions."""
    what = f'{args.results} holds single-label clip results'
    if args.verb_classes is not None or args.noun_classes is not None:
        raise UsageError(f'{what}: give --classes (one class name a line), not '
                         '--verb-classes/--noun-classes (which are for EPIC results)')
    if args.gt.lower() != 'none':
        raise UsageError(f'{what}, which carry their own labels: --gt (an EPIC '
                         'narration CSV) is for EPIC results only')
    if args.classes is None:
        raise UsageError(f'{what}: give --classes FILE (one class name a line, line i = '
                         'class i, e.g. the list builder\'s PREFIX_classes.txt)')
    names = read_class_names(args.classes)
    if len(names) != results.num_classes:
        raise UsageError(f'{args.classes} has {len(names)} classes but {args.results} '
                         f'has {results.num_classes} scores per clip')
    table = clip_predictions_table(results, names, k=args.top_k)
    written = [write_predictions_csv(table, osp.join(args.out_dir, 'predictions.csv'))]

    mask = results.labelled
    print(f'{len(results)} clips of {args.results}: {int(mask.sum())} labelled')
    if (~mask).any():
        print(f'skipped {int((~mask).sum())} unlabelled clips for the confusion matrix, '
              'per-class metrics and accuracies')
    if not mask.any():
        print('no labelled clips: wrote only predictions.csv')
        return written
    score, label = results.score[mask], results.label[mask]
    _, per_class, paths = write_task(args, '', score, label, names, 'classes', 'clips')
    written.extend(paths)
    ranks, _ = top_k(score, 5)  # the predictions' order: equal scores by lower id
    top1, top5 = topk_accuracy(ranks, label, (1, 5))
    mean = mean_class_accuracy(ranks, label)
    print(f'top-1 {100 * top1:.2f}%, top-5 {100 * top5:.2f}%, mean class accuracy '
          f'{100 * mean:.2f}% ({int((per_class["support"] > 0).sum())} classes present)')
    return written


def analyze(args: argparse.Namespace) -> List[str]:
    """Write every output; return the paths written."""
    if args.top_n < 1 or args.top_k < 1:
        raise UsageError(f'--top-n and --top-k must be >= 1, got {args.top_n}, '
                         f'{args.top_k}')
    results = load_any_results(args.results)
    results.check_scores(args.results)  # probabilities, not logits
    if isinstance(results, ClipResults):
        return analyze_clips(args, results)
    return analyze_epic(args, results)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    written = analyze(args)
    for path in written:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
