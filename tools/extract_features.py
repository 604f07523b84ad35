"""Dense clip features over whole videos (for RULSTM, ActionFormer- or TIM-style models).

Every STRIDE seconds a window of WINDOW seconds (default: the stride) goes
through the config's test pipeline for one view and the checkpoint's
backbone; its feature is the layer before the head's classifier (backbone
output pooled over space and time; for LSTM heads the LSTM's output). OUT
gets one <video_id>.npy per video ([num_windows, dim]), index.json (per
video: fps, frame count, window centres in frames and seconds, frame
ranges, config, checkpoint hash) and, with --lmdb, features.lmdb in RULSTM's
key layout ({video_id}_frame_{centre frame from 1:010d}.jpg -> float32).
Finished videos are skipped, so a rerun resumes; a video that cannot be read
is reported and skipped (exit code 1 at the end). Under torchrun or srun the
videos are shared over the ranks.

Examples::

    python tools/extract_features.py configs/tsm/tsm_r50_lstm_8xb8-u8-30e_epic100-rgb-verbnoun.py \\
        work_dirs/tsm/best.pth --list data_lists/epic100_val.txt --data-root /data/EPIC \\
        --out features/tsm_val --stride 0.5 --window 2 --lmdb
    torchrun --nproc_per_node 4 tools/extract_features.py CONFIG CKPT --video-root /data/EPIC \\
        --video-template '{participant_id}/videos/{video_id}.MP4' --out features/all --device cuda
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

from epic_mmaction.utils.cli import positive_float, positive_int, tool_main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split('\n', 1)[1])
    p.add_argument('config', help='model config (its test pipeline is used, one view)')
    p.add_argument('checkpoint', help='checkpoint trained with that config')
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument('--list', help='list file: a video path a line, or a segment list')
    src.add_argument('--video-root', help='directory searched with --video-template')
    p.add_argument('--data-root', default='', help='--list paths are relative to it')
    p.add_argument('--video-template', default='{participant_id}/{video_id}.MP4',
                   help='video paths under --video-root. Defaults to %(default)s')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--stride', type=positive_float, default=1.0,
                   help='seconds between windows. Defaults to %(default)s')
    p.add_argument('--window', type=positive_float,
                   help='window length in seconds (>= stride). Defaults to the stride')
    p.add_argument('--dtype', choices=('float32', 'float16'), default='float32',
                   help='of the .npy files (LMDB values are always float32). '
                   'Defaults to %(default)s')
    p.add_argument('--lmdb', action='store_true',
                   help='also write OUT/features.lmdb with RULSTM keys (one node only)')
    p.add_argument('--lmdb-map-size-gb', type=positive_int, default=64,
                   help='LMDB map size. Defaults to %(default)s')
    p.add_argument('--device', default='cpu',
                   help="cpu, cuda (one GPU per rank: cuda:LOCAL_RANK) or cuda:N. "
                   'Defaults to %(default)s')
    p.add_argument('--batch-size', type=positive_int, default=8,
                   help='windows per forward. Defaults to %(default)s')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    args = p.parse_args(argv)
    if args.window is not None and args.window < args.stride:
        p.error(f'--window {args.window:g} is shorter than --stride {args.stride:g}: '
                'frames between windows would be skipped')
    return args


def _device(device: str) -> str:
    if device == 'cuda':
        return f'cuda:{int(os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", 0)))}'
    return device


def _process_group(world: int):
    """torchrun sets MASTER_ADDR: a gloo group for the final tally (srun alone: none)."""
    if world < 2 or 'MASTER_ADDR' not in os.environ:
        return None
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group('gloo')
    return dist


@tool_main
def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config

    from epic_mmaction.inference import InferenceError
    from epic_mmaction.inference.features import (FeatureExtractor, dist_rank,
                                                  extract_features, videos_from_list,
                                                  videos_from_root)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise InferenceError(f'{what} not found: {path}')
    if args.list is not None:
        videos = videos_from_list(args.list, args.data_root)
    else:
        videos = videos_from_root(args.video_root, args.video_template)
    rank, world = dist_rank()
    dist = _process_group(world)
    cfg = Config.fromfile(args.config)
    extractor = FeatureExtractor(cfg, args.checkpoint, _device(args.device), args.batch_size)
    print(f'[rank {rank}/{world}] {len(videos)} videos, {len(videos[rank::world])} for this '
          f'rank; feature: {extractor.feature_layer}', flush=True)
    summary = extract_features(
        extractor, videos, args.out, args.stride, args.window, args.dtype, args.lmdb,
        args.config, args.checkpoint, rank, world, args.lmdb_map_size_gb << 30,
        progress=not args.no_progress, log=lambda line: print(line, flush=True))
    print(f'[rank {rank}/{world}] {len(summary.done)} videos extracted, '
          f'{len(summary.skipped)} already done, {len(summary.failed)} failed; '
          f'{summary.windows} windows in {summary.seconds:.1f}s '
          f'({summary.windows_per_s:.1f} windows/s)', flush=True)
    failed = len(summary.failed)
    if dist is not None:
        import torch
        tally = torch.tensor([len(summary.done), len(summary.skipped), failed])
        dist.all_reduce(tally)
        dist.destroy_process_group()
        if rank == 0:
            print(f'all ranks: {tally[0]} extracted, {tally[1]} already done, {tally[2]} '
                  f'failed; index: {osp.join(args.out, "index.json")}', flush=True)
        failed = int(tally[2])
    if failed:
        for vid, why in summary.failed.items():
            print(f'failed: {vid}: {why}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
