"""Analyse a results file: confusion matrices, per-class metrics, predictions.

RESULTS is a results .npz of tools/test.py --dump. Labels are the file's own;
segments it leaves unlabelled take theirs from --gt when given. Writes to
--out-dir:

    verb_confusion.png, noun_confusion.png   top-N ground-truth classes
    verb_confusion.csv, noun_confusion.csv   full count matrices
    verb_per_class.csv, noun_per_class.csv   precision/recall/F1/support
    predictions.csv                          top-5 verbs/nouns/actions, scores

Unlabelled segments appear only in predictions.csv.

Example::

    python tools/analyze_results.py work_dirs/x3d_s/val_results.npz \\
        --gt data/epic100/EPIC_100_validation.csv \\
        --verb-classes data/epic100/EPIC_100_verb_classes.csv \\
        --noun-classes data/epic100/EPIC_100_noun_classes.csv \\
        --out-dir work_dirs/x3d_s/analysis
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import numpy as np

from epic_mmaction.analysis import (confusion_matrix, per_class_table, plot_confusion,
                                    predictions_table, resolve_labels,
                                    write_confusion_csv, write_per_class_csv,
                                    write_predictions_csv)
from epic_mmaction.annotations.records import AnnotationError, read_classes
from epic_mmaction.evaluation import ResultsFileError, load_results

PROG = 'analyze_results.py'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('results', help='results .npz (tools/test.py --dump)')
    p.add_argument('--gt', default='none', help="labelled split CSV (e.g. "
                   "EPIC_100_validation.csv) for segments the results leave unlabelled, "
                   "or 'none'. Defaults to %(default)s")
    p.add_argument('--verb-classes', required=True, help='EPIC_100_verb_classes.csv')
    p.add_argument('--noun-classes', required=True, help='EPIC_100_noun_classes.csv')
    p.add_argument('--out-dir', required=True, help='where the PNGs and CSVs go')
    p.add_argument('--top-n', type=int, default=20,
                   help='classes shown in the confusion plots. Defaults to %(default)s')
    p.add_argument('--top-k', type=int, default=5,
                   help='predictions per task in predictions.csv. Defaults to %(default)s')
    p.add_argument('--counts', action='store_true',
                   help='plot counts instead of row-normalised fractions')
    return p.parse_args(argv)


def analyze(args: argparse.Namespace) -> List[str]:
    """Write every output; return the paths written."""
    if args.top_n < 1 or args.top_k < 1:
        raise ValueError(f'--top-n and --top-k must be >= 1, got {args.top_n}, '
                         f'{args.top_k}')
    results = load_results(args.results)
    names = {'verb': read_classes(args.verb_classes),
             'noun': read_classes(args.noun_classes)}
    for task, num, csv_path in (('verb', results.num_verbs, args.verb_classes),
                                ('noun', results.num_nouns, args.noun_classes)):
        if len(names[task]) != num:
            raise ValueError(f'{csv_path} has {len(names[task])} {task} classes but '
                             f'{args.results} has {num} {task} scores per segment')
    gt = None if args.gt.lower() == 'none' else args.gt
    labels = resolve_labels(results, gt)
    written = []
    out = lambda name: osp.join(args.out_dir, name)  # noqa: E731
    table = predictions_table(results, names['verb'], names['noun'], labels.verb,
                              labels.noun, k=args.top_k)
    written.append(write_predictions_csv(table, out('predictions.csv')))

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
        pred = score[mask].argmax(axis=1)
        matrix = confusion_matrix(label[mask], pred, score.shape[1])
        per_class = per_class_table(matrix, names[task])
        written.append(plot_confusion(matrix, names[task], out(f'{task}_confusion.png'),
                                      top_n=args.top_n, normalize=not args.counts,
                                      title=f'{task}s'))
        written.append(write_confusion_csv(matrix, names[task],
                                           out(f'{task}_confusion.csv')))
        written.append(write_per_class_csv(per_class, out(f'{task}_per_class.csv')))
        accuracy = 100 * np.trace(matrix) / matrix.sum()
        print(f'{task} top-1 {accuracy:.2f}%, {len(per_class)} classes present or '
              'predicted')
    action = table['action_correct'].dropna()
    print(f'action top-1 {100 * action.mean():.2f}%')
    return written


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        written = analyze(args)
    except (ResultsFileError, AnnotationError, ValueError) as e:
        print(f'{PROG}: error: {e}', file=sys.stderr)
        return 2
    except OSError as e:
        print(f'{PROG}: error: {e.strerror or e}: {e.filename}', file=sys.stderr)
        return 2
    for path in written:
        print(f'wrote {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
