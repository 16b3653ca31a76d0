"""Backups taken while the app writes restore to a working app (SQLite and PostgreSQL)."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text

from config import TestConfig
from crm import create_app
from crm.auth import services as auth_services
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.tags import organisation_tag
from tests.conftest import vars_of
from tests.databases import own_database

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "restored-and-working"


def head_revision() -> str:
    config = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(config).get_current_head()


@pytest.fixture
def restore_target_uri(tmp_path):
    """Where the backup is restored: a new SQLite file, or a new PostgreSQL database."""
    with own_database("vertskap_restore", tmp_path / "restored.db") as uri:
        yield uri


def app_on(url: str):
    return create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": url})


def flask_cli(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_backup_taken_while_writing_restores_to_a_working_app(
    empty_database_uri, restore_target_uri, tmp_path
):
    source = app_on(empty_database_uri)
    with source.app_context():
        db.create_all()
        db.engine.dispose()
    stamped = flask_cli(empty_database_uri, "db", "stamp", "head")
    assert stamped.returncode == 0, stamped.stderr
    start_at = time.time() + 3
    stop_file = tmp_path / "stop"
    writer = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.scale.writer", empty_database_uri, "w"),
            *(str(start_at), "90", str(stop_file)),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(max(0.0, start_at + 2 - time.time()))  # the writer is in full swing
    backup_file = tmp_path / "backups" / "vertskap.backup"
    backup = flask_cli(empty_database_uri, "crm", "backup", "--output", str(backup_file))
    assert backup.returncode == 0, backup.stderr
    assert backup.stdout.strip() == f"Backup written to {backup_file}"
    time.sleep(1)  # a few more writes after the backup
    stop_file.touch()
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    written = json.loads(out.strip().splitlines()[-1])
    assert written["errors"] == []

    restore = flask_cli(restore_target_uri, "crm", "restore", str(backup_file), "--yes")
    assert restore.returncode == 0, restore.stderr
    current = flask_cli(restore_target_uri, "db", "current")
    assert current.returncode == 0, current.stderr
    assert head_revision() in current.stdout

    restored = app_on(restore_target_uri)
    with restored.app_context():
        if db.engine.dialect.name == "postgresql":
            # Vacuumed and analysed after the restore: the planner has statistics at once.
            done = db.session.execute(
                text(
                    "SELECT last_vacuum IS NOT NULL, last_analyze IS NOT NULL "
                    "FROM pg_stat_user_tables WHERE relname = 'organisation'"
                )
            ).one()
            assert tuple(done) == (True, True)
        orgs = db.session.scalar(select(func.count()).select_from(Organisation))
        links = db.session.scalar(select(func.count()).select_from(organisation_tag))
        # Taken mid-stream: some but not all organisations, and none without its two tags
        # (each organisation and its tags were one transaction).
        assert 0 < orgs < written["created"]
        assert links == 2 * orgs
        auth_services.create_user(email="after@restore.example", password=PASSWORD, role="viewer")
        db.session.commit()
        name = db.session.scalar(select(Organisation.name).order_by(Organisation.id))
        client = restored.test_client()
        login = client.post("/login", data={"email": "after@restore.example", "password": PASSWORD})
        assert login.status_code == 302
        page = client.get("/organisations/?q=" + name.split()[0])
        assert page.status_code == 200
        assert name in page.text
        assert client.get("/healthz").json["status"] == "ok"
        db.session.remove()
        db.engine.dispose()


def test_backup_refuses_to_overwrite_a_file(empty_database_uri, tmp_path):
    source = app_on(empty_database_uri)
    with source.app_context():
        db.create_all()
        db.engine.dispose()
    existing = tmp_path / "kept.backup"
    existing.write_text("keep me")
    result = flask_cli(empty_database_uri, "crm", "backup", "--output", str(existing))
    assert result.returncode != 0
    # the CLI speaks the office's default language (nb)
    assert "finnes allerede" in result.stderr
    assert existing.read_text() == "keep me"


def test_restoring_a_file_that_is_no_backup_changes_nothing(empty_database_uri, tmp_path):
    app = app_on(empty_database_uri)
    with app.app_context():
        db.create_all()
        db.session.add(Organisation(name="Still here"))
        db.session.commit()
        db.engine.dispose()
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database")
    result = flask_cli(empty_database_uri, "crm", "restore", str(junk), "--yes")
    assert result.returncode != 0
    assert "Error" in result.stderr
    with app.app_context():
        assert db.session.scalars(select(Organisation.name)).all() == ["Still here"]
        db.session.remove()
        db.engine.dispose()


def test_restore_without_a_file_says_so(empty_database_uri, tmp_path):
    result = flask_cli(empty_database_uri, "crm", "restore", str(tmp_path / "none.db"), "--yes")
    assert result.returncode != 0
    assert "Ingen sikkerhetskopi" in result.stderr


def test_restore_without_vacuumdb_refuses_before_changing_anything(empty_database_uri, tmp_path):
    if not empty_database_uri.startswith("postgresql"):
        pytest.skip("vacuumdb runs after a PostgreSQL restore only")
    app = app_on(empty_database_uri)
    with app.app_context():
        db.create_all()
        db.session.add(Organisation(name="In the backup"))
        db.session.commit()
    backup_file = tmp_path / "vertskap.backup"
    backup = flask_cli(empty_database_uri, "crm", "backup", "--output", str(backup_file))
    assert backup.returncode == 0, backup.stderr
    with app.app_context():
        db.session.add(Organisation(name="Added after"))
        db.session.commit()
    # A PATH with pg_restore but no vacuumdb (the real pg_restore, linked).
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pg_restore").symlink_to(shutil.which("pg_restore"))
    restore = ["crm", "restore", str(backup_file), "--yes"]
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *restore],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": empty_database_uri, "PATH": str(tools)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "vacuumdb er ikke installert" in result.stderr
    with app.app_context():
        names = db.session.scalars(select(Organisation.name).order_by(Organisation.id)).all()
        assert names == ["In the backup", "Added after"]
        db.session.remove()
        db.engine.dispose()
