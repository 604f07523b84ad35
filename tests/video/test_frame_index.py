"""The frame index cache: reused, rebuilt when the file changes, never in the way."""
import glob
import multiprocessing as mp
import os
import os.path as osp
import warnings
from fractions import Fraction

import numpy as np
import pytest

from epic_mmaction.synthetic.framecode import read_frame_codes
from epic_mmaction.video import PyAVVideoReader, VideoReadError
from epic_mmaction.video import frame_index
from epic_mmaction.video.frame_index import clear_memory_cache, load_frame_index
from tests.video.irregular import write_video


def _video(tmp_path, name='v.mp4', n=60, gap=None):
    path = str(tmp_path / name)
    write_video(path, [i + (gap is not None and i >= gap) for i in range(n)],
                Fraction(1, 50), 50)
    return path


def _cache_files(cache):
    return glob.glob(osp.join(cache, 'frame-index', '*', '*.npz'))


def test_index_is_cached_on_disk_and_reused(tmp_path):
    path, cache = _video(tmp_path, gap=20), str(tmp_path / 'cache')
    index = load_frame_index(path, cache)
    files = _cache_files(cache)
    assert len(files) == 1 and len(index) == 60
    stamp = os.stat(files[0]).st_mtime_ns
    assert load_frame_index(path, cache) is index  # memory
    clear_memory_cache()
    again = load_frame_index(path, cache)  # disk: not rebuilt, not rewritten
    assert again is not index and os.stat(files[0]).st_mtime_ns == stamp
    np.testing.assert_array_equal(again.pts, index.pts)
    np.testing.assert_array_equal(again.key_pts, index.key_pts)
    assert again.time_base == index.time_base
    reader = PyAVVideoReader(path, index_cache_dir=cache)
    np.testing.assert_array_equal(read_frame_codes(reader.get_batch([19, 20, 21]).asnumpy()),
                                  [19, 20, 21])


def test_default_location_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(frame_index.CACHE_ENV, str(tmp_path / 'env'))
    assert frame_index.default_cache_dir() == str(tmp_path / 'env')
    monkeypatch.delenv(frame_index.CACHE_ENV)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert frame_index.default_cache_dir() == str(tmp_path / 'xdg' / 'epic_mmaction')
    monkeypatch.setenv(frame_index.CACHE_ENV, str(tmp_path / 'env'))
    path = _video(tmp_path)
    PyAVVideoReader(path)
    assert len(_cache_files(str(tmp_path / 'env'))) == 1


@pytest.mark.parametrize('change', ['content', 'mtime', 'size_same_mtime'])
def test_a_changed_video_is_indexed_again(tmp_path, change):
    path, cache = _video(tmp_path, n=60), str(tmp_path / 'cache')
    assert len(load_frame_index(path, cache)) == 60
    clear_memory_cache()
    st = os.stat(path)
    if change == 'content':  # another video under the same name
        _video(tmp_path, n=45)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        expected = 45
    elif change == 'mtime':  # touched: same frames, the index is rebuilt
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        expected = 60
    else:  # bytes appended, mtime put back: the size gives it away
        with open(path, 'ab') as f:
            f.write(bytes(1000))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        expected = 60
    file, = _cache_files(cache)
    before = os.stat(file).st_mtime_ns
    index = load_frame_index(path, cache)
    assert os.stat(file).st_mtime_ns != before  # rebuilt and rewritten
    assert len(index) == expected
    reader = PyAVVideoReader(path, index_cache_dir=cache)
    n = len(reader)
    np.testing.assert_array_equal(read_frame_codes(reader.get_batch([0, n - 1]).asnumpy()),
                                  [0, n - 1])


def test_damaged_cache_file_is_rebuilt(tmp_path):
    path, cache = _video(tmp_path), str(tmp_path / 'cache')
    load_frame_index(path, cache)
    clear_memory_cache()
    file, = _cache_files(cache)
    with open(file, 'wb') as f:
        f.write(b'not an index')
    assert len(load_frame_index(path, cache)) == 60
    clear_memory_cache()
    assert len(load_frame_index(path, cache)) == 60  # and written back whole


def test_unwritable_cache_still_reads(tmp_path):
    path = _video(tmp_path, gap=30)
    blocker = tmp_path / 'a_file'
    blocker.write_text('')
    cache = str(blocker / 'cache')  # under a regular file: unwritable for anyone
    with pytest.warns(UserWarning, match=r'cannot write frame indexes to .*a_file/cache.*'
                      + frame_index.CACHE_ENV):
        reader = PyAVVideoReader(path, index_cache_dir=cache)
    inds = [0, 29, 30, 31, 59]
    np.testing.assert_array_equal(read_frame_codes(reader.get_batch(inds).asnumpy()), inds)
    clear_memory_cache()
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # warned once per process, not per video
        assert len(PyAVVideoReader(path, index_cache_dir=cache)) == 60


@pytest.mark.skipif(os.geteuid() == 0, reason='root writes into read-only directories')
def test_read_only_cache_dir_still_reads(tmp_path):
    path, cache = _video(tmp_path), tmp_path / 'ro'
    cache.mkdir()
    cache.chmod(0o500)
    try:
        with pytest.warns(UserWarning, match='cannot write frame indexes'):
            assert len(PyAVVideoReader(path, index_cache_dir=str(cache))) == 60
    finally:
        cache.chmod(0o700)


def _build_in_process(args):
    path, cache = args
    return len(load_frame_index(path, cache))


def test_workers_building_the_same_index_at_once(tmp_path):
    """Several processes (dataloader workers) index the same video together:
    each gets a whole index, one whole cache file remains, no temporaries."""
    path, cache = _video(tmp_path, n=120), str(tmp_path / 'cache')
    with mp.get_context('spawn').Pool(4) as pool:
        assert pool.map(_build_in_process, [(path, cache)] * 8) == [120] * 8
    file, = _cache_files(cache)
    assert os.listdir(osp.dirname(file)) == [osp.basename(file)]
    clear_memory_cache()
    assert len(load_frame_index(path, cache)) == 120


def test_unindexable_videos_name_the_file(tmp_path):
    import av
    audio = str(tmp_path / 'audio_only.mp4')
    with av.open(audio, 'w', format='mp4') as c:
        s = c.add_stream('aac', rate=48000)
        for k in range(10):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32),
                                           format='fltp', layout='mono')
            f.sample_rate, f.pts = 48000, 1024 * k
            c.mux(s.encode(f))
        c.mux(s.encode())
    with pytest.raises(VideoReadError, match=r'audio_only\.mp4'):
        PyAVVideoReader(audio)
    with pytest.raises(VideoReadError, match=r'audio_only\.mp4 has no video stream'):
        load_frame_index(audio, '')
    with pytest.raises(VideoReadError, match=r'cannot open video .*missing\.mp4'):
        load_frame_index(str(tmp_path / 'missing.mp4'), '')
