import pytest

from epic_mmaction.video import frame_index


@pytest.fixture(autouse=True)
def _index_cache(tmp_path_factory, monkeypatch):
    """Frame indexes go to a fresh per-session directory, never ~/.cache."""
    root = tmp_path_factory.getbasetemp() / 'epic_cache'
    monkeypatch.setenv(frame_index.CACHE_ENV, str(root))
    frame_index.clear_memory_cache()
    yield
    frame_index.clear_memory_cache()
