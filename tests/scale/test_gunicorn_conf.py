"""gunicorn.conf.py's worker settings: where the heartbeat lives and how the collector runs."""

import gc
import importlib.util
from pathlib import Path

import pytest

CONF = Path(__file__).resolve().parents[2] / "gunicorn.conf.py"


def load_conf(monkeypatch, **env):
    """gunicorn.conf.py as a module, read with these environment variables."""
    for name in ("GUNICORN_GC_THRESHOLD", "GUNICORN_WORKER_TMP_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONF)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def collector():
    """Put the collector back as it was: the test process must not stay frozen."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_worker_freezes_what_it_loaded_and_raises_the_young_threshold(monkeypatch, collector):
    conf = load_conf(monkeypatch)
    older = gc.get_threshold()[1:]
    gc.unfreeze()
    loaded = {"app": []}  # stands for what a worker has just imported
    assert any(tracked is loaded for tracked in gc.get_objects())
    conf.post_worker_init(worker=None)
    assert gc.get_freeze_count() > 0
    # Frozen: in the permanent generation, which no collection visits.
    assert not any(tracked is loaded for tracked in gc.get_objects())
    assert gc.get_threshold() == (50_000, *older)


def test_the_young_threshold_can_be_set(monkeypatch, collector):
    conf = load_conf(monkeypatch, GUNICORN_GC_THRESHOLD="700")
    conf.post_worker_init(worker=None)
    assert gc.get_threshold()[0] == 700


def test_heartbeat_in_memory_unless_told_otherwise(monkeypatch, tmp_path):
    conf = load_conf(monkeypatch)
    assert conf.worker_tmp_dir == (conf._SHM if Path(conf._SHM).is_dir() else None)
    told = load_conf(monkeypatch, GUNICORN_WORKER_TMP_DIR=str(tmp_path))
    assert told.worker_tmp_dir == str(tmp_path)
