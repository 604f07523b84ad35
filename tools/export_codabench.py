"""Export results (or an ensemble of them) as a Codabench submission.

Writes OUT_DIR/submission.pt (the official C1 list format) and OUT_DIR/test.zip
(test.json, what the leaderboard reads) after checking that every narration of
the split is there exactly once with finite scores over 97 verbs and 300 nouns.

Example::

    python tools/export_codabench.py work_dirs/x3d_s/test_results.npz \\
        work_dirs/tsm/test_results.npz --weights 2 1 --ensemble logit \\
        --split-csv data/epic100/EPIC_100_test_timestamps.csv \\
        --out-dir work_dirs/submission --sls-pt 2 --sls-tl 3 --sls-td 4
"""
import argparse
import sys
from typing import List, Optional

from epic_mmaction.export import (ENSEMBLE_MODES, NUM_NOUNS, NUM_VERBS, ensemble,
                                  export_submission, load_any, normalise_weights, read_split_ids)
from epic_mmaction.utils.cli import tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('results', nargs='+', help='results .npz files (tools/test.py '
                   '--dump), or submission .pt / leaderboard .zip files')
    p.add_argument('--split-csv', required=True,
                   help='the split submitted, e.g. EPIC_100_test_timestamps.csv')
    p.add_argument('--out-dir', required=True, help='where submission.pt and the zip go')
    p.add_argument('--zip-name', default='test.zip', help='Defaults to %(default)s')
    p.add_argument('--weights', type=float, nargs='+',
                   help='one per results file, normalised (default: equal)')
    p.add_argument('--ensemble', choices=ENSEMBLE_MODES, default='prob',
                   help='average probabilities or log-probabilities. Defaults to '
                   '%(default)s')
    for name, default, what in (('pt', 2, 'pretraining'), ('tl', 3, 'training labels'),
                                ('td', 4, 'training data')):
        p.add_argument(f'--sls-{name}', type=int, default=default, choices=range(6),
                       metavar='{0..5}', help=f'supervision level, {what} (see '
                       'github.com/epic-kitchens/sls). Defaults to %(default)s')
    p.add_argument('--num-verbs', type=int, default=NUM_VERBS, help='Defaults to '
                   '%(default)s')
    p.add_argument('--num-nouns', type=int, default=NUM_NOUNS, help='Defaults to '
                   '%(default)s')
    p.add_argument('--force', action='store_true', help='overwrite existing outputs')
    return p.parse_args(argv)


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    weights = normalise_weights(args.weights, len(args.results))
    split_ids = read_split_ids(args.split_csv)
    loaded = [load_any(path, args.num_verbs, args.num_nouns) for path in args.results]
    combined = ensemble(loaded, weights, mode=args.ensemble, names=args.results)
    where = (args.results[0] if len(args.results) == 1 else
             f'the {args.ensemble} ensemble of {", ".join(args.results)}')
    paths = export_submission(
        args.out_dir, combined, split_ids, zip_name=args.zip_name,
        sls_pt=args.sls_pt, sls_tl=args.sls_tl, sls_td=args.sls_td,
        num_verbs=args.num_verbs, num_nouns=args.num_nouns, force=args.force,
        where=where, split=args.split_csv)
    print(f'{len(split_ids)} narrations of {args.split_csv}, {combined.num_verbs} verbs, '
          f'{combined.num_nouns} nouns')
    for path, w in zip(args.results, weights):
        print(f'    {w:.4f}  {path}')
    if len(args.results) > 1:
        print(f'ensemble: {args.ensemble}')
    print(f'sls: pt {args.sls_pt}, tl {args.sls_tl}, td {args.sls_td}')
    print(f'wrote {paths["pt"]} and {paths["zip"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
