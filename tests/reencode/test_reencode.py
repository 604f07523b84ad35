"""Re-encoding real H.264 videos: the same segments show the same frames after it.

Every synthetic frame carries its source frame index; segments of the
rewritten lists are decoded through the real loader (SegmentVideoInit with
PyAV and decord) and their codes compared with the original's.
"""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest

from epic_mmaction.annotations.listfile import read_list
from epic_mmaction.reencode import EncodeSettings, load_manifest, reencode_videos
from epic_mmaction.video import VideoReadError, open_video_reader
from epic_mmaction.video.chunks import ChunkedVideoReader
from epic_mmaction.video.manifest import file_crc32, temp_path
from mmaction.registry import DATASETS

from .helpers import BACKENDS, codes_of, decode_segment, keyframes, segment_init


def run(source, tmp, settings, workers=0, out=None, name='out'):
    out = out or str(tmp / name)
    lists = str(tmp / f'{name}_lists')
    report = reencode_videos(source.videos, out, source.lists, lists, settings,
                             report_path=str(tmp / f'{name}_report.json'),
                             workers=workers, progress=False)
    return out, lists, report


@pytest.fixture(scope='module')
def chunked(source, tmp_path_factory):
    """1 s chunks, a keyframe every 16 frames, in two worker processes."""
    tmp = tmp_path_factory.mktemp('chunked')
    out, lists, report = run(source, tmp, EncodeSettings(gop=16, chunk_seconds=1.0),
                             workers=2)
    return out, lists, report


@pytest.fixture(scope='module')
def gop_only(source, tmp_path_factory):
    """One file per video, a keyframe every 8 frames (in this process)."""
    tmp = tmp_path_factory.mktemp('gop')
    return run(source, tmp, EncodeSettings(gop=8))


def _pairs(source, out_lists):
    """(original segment, rewritten segment) for every row of every list."""
    for path in source.lists:
        before = read_list(path)
        after = read_list(osp.join(out_lists, osp.basename(path)))
        assert len(before) == len(after)
        yield from zip(before, after)


def test_chunked_segments_decode_the_same_frames(source, chunked):
    """THE test: every segment, also across chunk boundaries, shows the same frames
    as in the original video, with either backend."""
    out, out_lists, report = chunked
    assert report['counts']['videos'] == dict(total=2, encoded=2, kept=0, failed=0)
    original = segment_init('decord')
    reencoded = {backend: segment_init(backend) for backend in BACKENDS}
    spanning = 0
    for seg, new in _pairs(source, out_lists):
        assert new.video == seg.video + '.chunks'
        assert (new.start, new.stop, new.narration_id) == (seg.start, seg.stop,
                                                           seg.narration_id)
        before = codes_of(decode_segment(original, osp.join(source.videos, seg.video),
                                         seg.start, seg.stop))
        np.testing.assert_array_equal(before, np.arange(seg.start, seg.stop + 1))
        for backend, init in reencoded.items():
            after = codes_of(decode_segment(init, osp.join(out, new.video), new.start,
                                            new.stop))
            np.testing.assert_array_equal(after, before,
                                          err_msg=f'{backend}: {new.to_line()}')
            reader = init._readers[osp.join(out, new.video)]
            assert isinstance(reader, ChunkedVideoReader)
        spanning += reader.chunk_of(new.start) != reader.chunk_of(new.stop)
    assert spanning >= 10  # the edge list alone has 4 per video
    assert report['counts']['segments']['changed'] == 0


def test_chunked_dataset_pipeline(source, chunked):
    """Through EpicSegmentVideoDataset + SampleFrames + DecordDecode on chunks."""
    out, out_lists, _ = chunked
    for backend in BACKENDS:
        ds = DATASETS.build(dict(
            type='EpicSegmentVideoDataset',
            ann_file=osp.join(out_lists, 'epic100_train.txt'),
            data_prefix=dict(video=out), test_mode=True, label_mode='verb_noun',
            pipeline=[dict(type='SegmentVideoInit', backend=backend),
                      dict(type='SampleFrames', clip_len=13, frame_interval=6,
                           num_clips=2, test_mode=True),
                      dict(type='DecordDecode')]))
        for i in range(len(ds)):
            results = ds[i]
            codes = codes_of(np.stack(results['imgs']))
            np.testing.assert_array_equal(codes, results['frame_inds'])
            assert results['segment_start'] <= codes.min()
            assert codes.max() <= results['segment_stop']


def test_chunk_layout_manifest_and_keyframes(source, chunked):
    out, _, report = chunked
    for plan in source.plans:
        directory = osp.join(out, plan.rel_path + '.chunks')
        manifest = load_manifest(osp.join(directory, 'chunks.json'))
        per_second = round(float(plan.fps))
        assert manifest['chunk_frames'] == per_second
        assert manifest['num_frames'] == plan.num_frames
        assert manifest['source']['num_frames'] == plan.num_frames
        assert manifest['fps'] == manifest['source']['fps'] == str(plan.fps)
        names = sorted(os.listdir(directory))
        assert names == [f'{k:05d}.mp4' for k in range(len(manifest['files']))] + [
            'chunks.json']
        assert len(names) - 1 == -(-plan.num_frames // per_second)
        last = manifest['files'][-1]
        assert last['num_frames'] == plan.num_frames - last['start']
        for entry in (manifest['files'][0], last):
            frames = keyframes(osp.join(directory, entry['name']))
            assert frames == list(range(0, entry['num_frames'], 16))
        assert not [n for n in os.listdir(osp.dirname(directory)) if n.endswith('.part')]
    video = report['videos'][0]
    assert video['status'] == 'encoded' and video['reason'] == 'new'
    assert video['out_bytes'] == sum(
        osp.getsize(osp.join(out, video['output'], f'{k:05d}.mp4'))
        for k in range(video['files']))
    storage = report['storage']
    assert storage['bytes_before'] == sum(
        osp.getsize(osp.join(source.videos, p.rel_path)) for p in source.plans)
    assert storage['ratio'] == round(storage['bytes_after'] / storage['bytes_before'], 4)


def test_chunked_reader_interface(source, chunked):
    out, _, _ = chunked
    plan = source.plans[0]  # 59.94 fps: chunks of 60 frames
    path = osp.join(out, plan.rel_path + '.chunks')
    reader = open_video_reader(path, 'decord')
    assert isinstance(reader, ChunkedVideoReader)
    assert len(reader) == plan.num_frames
    assert abs(reader.get_avg_fps() - 59.94) < 0.01
    wanted = [121, 59, 60, 59, 0, 119, plan.num_frames - 1, 60]  # unsorted, repeats
    np.testing.assert_array_equal(codes_of(reader.get_batch(wanted).asnumpy()), wanted)
    assert reader.get_batch([]).asnumpy().shape == (0, 90, 160, 3)
    reader.seek(58)
    assert [codes_of(reader.next().asnumpy()[None])[0] for _ in range(4)] == [58, 59, 60,
                                                                                61]
    assert len(reader._readers) <= reader.cache_size
    with pytest.raises(VideoReadError, match='requested'):
        reader.get_batch([plan.num_frames])
    with pytest.raises(VideoReadError, match='seek'):
        reader.seek(-1)
    reader.close()
    assert not reader._readers
    empty = osp.join(out, 'not_chunks')
    os.makedirs(empty)
    with pytest.raises(VideoReadError, match='chunks.json'):
        open_video_reader(empty)
    with pytest.raises(VideoReadError, match='cannot open'):
        open_video_reader(osp.join(out, 'missing.mp4'))


def test_gop_only_keeps_every_frame(source, gop_only):
    out, out_lists, report = gop_only
    counts = report['counts']['segments']
    assert counts == {'in': counts['in'], 'written': counts['in'], 'changed': 0,
                      'dropped': 0}
    init = segment_init('pyav')  # the default loader (chunks are read with both)
    for seg, new in _pairs(source, out_lists):
        assert new == seg  # same paths, same frames: only the data root changes
        codes = codes_of(decode_segment(init, osp.join(out, new.video), new.start,
                                        new.stop))
        np.testing.assert_array_equal(codes, np.arange(seg.start, seg.stop + 1))


def test_gop_only_keyframe_interval(source, gop_only):
    out, _, _ = gop_only
    for plan in source.plans:
        assert keyframes(osp.join(source.videos, plan.rel_path)) == list(
            range(0, plan.num_frames, 250))  # the camera-like source
        assert keyframes(osp.join(out, plan.rel_path)) == list(
            range(0, plan.num_frames, 8))
        manifest = load_manifest(osp.join(out, plan.rel_path) + '.reencode.json')
        assert manifest['chunk_frames'] is None
        path = osp.join(out, plan.rel_path)
        assert manifest['files'] == [dict(name=osp.basename(plan.rel_path), start=0,
                                          num_frames=plan.num_frames,
                                          bytes=osp.getsize(path),
                                          crc32=file_crc32(path))]


def _statuses(report):
    return {v['video']: (v['status'], v['reason']) for v in report['videos']}


def test_resume_chunked(source, chunked, tmp_path):
    """Kept when finished; redone when missing, truncated, unfinished or stale."""
    first_out, _, _ = chunked
    out = str(tmp_path / 'out')
    shutil.copytree(first_out, out)
    a, b = (p.rel_path for p in source.plans)
    _, _, report = run(source, tmp_path, EncodeSettings(gop=16, chunk_seconds=1.0),
                       out=out)
    assert _statuses(report) == {a: ('kept', None), b: ('kept', None)}
    assert report['counts']['videos']['kept'] == 2

    shutil.rmtree(osp.join(out, a + '.chunks'))  # deleted
    chunk = osp.join(out, b + '.chunks', '00003.mp4')
    with open(chunk, 'r+b') as f:  # truncated (a disk filled up, a copy died)
        f.truncate(os.path.getsize(chunk) // 2)
    leftover = temp_path(osp.join(out, a + '.chunks'))  # an interrupted run's
    os.makedirs(leftover)
    _, lists, report = run(source, tmp_path, EncodeSettings(gop=16, chunk_seconds=1.0),
                           out=out)
    assert _statuses(report) == {a: ('encoded', 'new'), b: ('encoded', 'damaged')}
    assert 'bytes' in next(v for v in report['videos'] if v['video'] == b)['detail']
    assert not osp.exists(leftover)
    init = segment_init('pyav')
    for seg, new in _pairs(source, lists):
        codes = codes_of(decode_segment(init, osp.join(out, new.video), new.start,
                                        new.stop))
        np.testing.assert_array_equal(codes, np.arange(seg.start, seg.stop + 1))

    with open(osp.join(out, a + '.chunks', 'chunks.json'), 'w') as f:
        f.write('{"format": "epic_mmaction.reen')  # damaged manifest
    _, _, report = run(source, tmp_path, EncodeSettings(gop=16, chunk_seconds=1.0,
                                                        crf=30), out=out)
    assert _statuses(report) == {a: ('encoded', 'damaged'),
                                 b: ('encoded', 'settings_changed')}


def test_resume_one_file(source, gop_only, tmp_path):
    first_out, _, _ = gop_only
    out = str(tmp_path / 'out')
    shutil.copytree(first_out, out)
    a, b = (p.rel_path for p in source.plans)
    with open(osp.join(out, a), 'r+b') as f:
        f.truncate(1000)
    os.remove(osp.join(out, b) + '.reencode.json')  # killed before its manifest
    _, _, report = run(source, tmp_path, EncodeSettings(gop=8), out=out)
    assert _statuses(report) == {a: ('encoded', 'damaged'), b: ('encoded', 'unfinished')}
    _, _, report = run(source, tmp_path, EncodeSettings(gop=8), out=out)
    assert _statuses(report) == {a: ('kept', None), b: ('kept', None)}
    with open(osp.join(tmp_path, 'out_report.json')) as f:
        assert json.load(f)['counts']['videos']['kept'] == 2

    size = os.path.getsize(osp.join(out, b))
    with open(osp.join(out, b), 'r+b') as f:  # damaged in place: same size, and
        f.seek(size // 2)  # the first and last frames still decode
        f.write(bytes(200))
    _, _, report = run(source, tmp_path, EncodeSettings(gop=8), out=out)
    assert _statuses(report) == {a: ('kept', None), b: ('encoded', 'damaged')}
    assert 'CRC-32' in report['videos'][1]['detail']
