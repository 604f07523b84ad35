"""Evaluate results, submissions or an ensemble on a labelled split, offline.

RESULTS are results .npz files (tools/test.py --dump), submission .pt files or
leaderboard zips; several are ensembled. Labels come from the ground-truth
CSV, which every RESULTS must cover. RESULTS must hold probabilities over
97 verbs and 300 nouns (EPIC-KITCHENS-100; --num-verbs/--num-nouns for other
data, e.g. the synthetic demo). Prints the leaderboard's table, the numbers of
the training metric.

Example::

    python tools/evaluate.py work_dirs/x3d_s/val_results.npz \\
        --gt data/epic100/EPIC_100_validation.csv \\
        --tail-verbs data/epic100/EPIC_100_tail_verbs.csv \\
        --tail-nouns data/epic100/EPIC_100_tail_nouns.csv \\
        --unseen data/epic100/EPIC_100_unseen_participant_ids_validation.csv \\
        --json work_dirs/x3d_s/val_metrics.json
"""
import argparse
import json
import sys
from typing import List, Optional

from epic_mmaction.evaluation import (read_tail_nouns, read_tail_verbs,
                                      read_unseen_participants, summary_table)
from epic_mmaction.export import (ENSEMBLE_MODES, NUM_NOUNS, NUM_VERBS, ensemble,
                                  evaluate_results, load_any, normalise_weights,
                                  read_ground_truth)
from epic_mmaction.utils.fileio import atomic_write
from epic_mmaction.utils.cli import tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('results', nargs='+', help='results .npz, submission .pt or '
                   'leaderboard .zip files')
    p.add_argument('--gt', required=True, help='labelled split, e.g. '
                   'EPIC_100_validation.csv')
    p.add_argument('--tail-verbs', help='EPIC_100_tail_verbs.csv')
    p.add_argument('--tail-nouns', help='EPIC_100_tail_nouns.csv')
    p.add_argument('--unseen', help='EPIC_100_unseen_participant_ids_validation.csv')
    p.add_argument('--weights', type=float, nargs='+',
                   help='one per results file, normalised (default: equal)')
    p.add_argument('--ensemble', choices=ENSEMBLE_MODES, default='prob',
                   help='average probabilities or log-probabilities. Defaults to '
                   '%(default)s')
    p.add_argument('--num-verbs', type=int, default=NUM_VERBS, help='verb classes each '
                   'RESULTS must have. Defaults to %(default)s')
    p.add_argument('--num-nouns', type=int, default=NUM_NOUNS, help='noun classes each '
                   'RESULTS must have. Defaults to %(default)s')
    p.add_argument('--json', help='also write the metrics to this JSON file')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    weights = normalise_weights(args.weights, len(args.results))
    gt = read_ground_truth(args.gt)
    tail_verbs = read_tail_verbs(args.tail_verbs) if args.tail_verbs else None
    tail_nouns = read_tail_nouns(args.tail_nouns) if args.tail_nouns else None
    unseen = read_unseen_participants(args.unseen) if args.unseen else None
    loaded = [load_any(path, args.num_verbs, args.num_nouns) for path in args.results]
    combined = ensemble(loaded, weights, mode=args.ensemble, names=args.results)
    where = (args.results[0] if len(args.results) == 1 else
             f'the {args.ensemble} ensemble of {", ".join(args.results)}')
    evaluation = evaluate_results(combined, gt, tail_verbs, tail_nouns, unseen,
                                  where=where)
    if args.json:
        report = dict(metrics=evaluation.metrics,
                      num_segments=evaluation.num_segments,
                      subset_sizes=evaluation.subset_sizes, gt=args.gt,
                      results=args.results, weights=weights.tolist(),
                      ensemble=args.ensemble if len(args.results) > 1 else None)
        with atomic_write(args.json) as f:
            json.dump(report, f, indent=2)
            f.write('\n')
    sizes = ', '.join(f'{name} {n}' for name, n in evaluation.subset_sizes.items())
    print(f'{evaluation.num_segments} narrations of {args.gt}'
          f'{" (" + sizes + ")" if sizes else ""}')
    if evaluation.num_ignored:
        print(f'ignored {evaluation.num_ignored} narrations not in {args.gt}')
    if len(args.results) > 1:
        print(f'{args.ensemble} ensemble of:')
        for path, w in zip(args.results, weights):
            print(f'    {w:.4f}  {path}')
    print(summary_table(evaluation.metrics))
    if args.json:
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
