"""SQLite under concurrent use: IMMEDIATE write transactions, DEFERRED read-only requests."""

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from config import TestConfig
from crm import create_app
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.sqlite import begin_statement, writes_on_read
from tests.conftest import vars_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_app(tmp_path):
    """An app on a SQLite file of its own (whatever TEST_DATABASE_URL says)."""
    url = f"sqlite:///{tmp_path / 'concurrent.db'}"
    app = create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_four_processes_writing_at_once_never_see_database_is_locked(sqlite_app):
    url = sqlite_app.config["SQLALCHEMY_DATABASE_URI"]
    start_at = time.time() + 3  # every writer has imported the app by then
    writers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.scale.writer", url, f"w{i}", str(start_at), "3"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["errors"] for r in results] == [[], [], [], []]
    assert all(r["created"] > 0 for r in results), results
    stored = db.session.scalar(select(func.count()).select_from(Organisation))
    assert stored == sum(r["created"] for r in results)


def test_begin_is_immediate_except_in_read_only_requests(sqlite_app):
    assert begin_statement() == "BEGIN IMMEDIATE"
    for method, expected in [("GET", "BEGIN"), ("HEAD", "BEGIN"), ("POST", "BEGIN IMMEDIATE")]:
        with sqlite_app.test_request_context("/", method=method):
            assert begin_statement() == expected


def test_a_get_view_marked_as_writing_takes_the_write_lock(sqlite_app):
    @sqlite_app.route("/bench/touch")
    @writes_on_read
    def touch():
        return "ok"

    with sqlite_app.test_request_context("/bench/touch", method="GET"):
        assert begin_statement() == "BEGIN IMMEDIATE"
    with sqlite_app.test_request_context("/organisations/", method="GET"):
        assert begin_statement() == "BEGIN"


def _other_writer_is_blocked(app) -> bool:
    """Whether a second connection (no busy wait) cannot write right now."""
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("INSERT INTO tag (name) VALUES ('other-writer')")
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return True
    else:
        other.execute("DELETE FROM tag WHERE name = 'other-writer'")
        return False
    finally:
        other.close()


def test_a_read_only_request_does_not_hold_the_write_lock(sqlite_app):
    with sqlite_app.test_request_context("/organisations/", method="GET"):
        db.session.execute(text("SELECT count(*) FROM organisation"))  # transaction open
        assert not _other_writer_is_blocked(sqlite_app)
        db.session.rollback()


def test_a_writing_transaction_holds_the_write_lock_from_its_begin(sqlite_app):
    with sqlite_app.test_request_context("/organisations/new", method="POST"):
        db.session.execute(text("SELECT count(*) FROM organisation"))  # only read so far
        assert _other_writer_is_blocked(sqlite_app)
        db.session.rollback()
    assert not _other_writer_is_blocked(sqlite_app)
