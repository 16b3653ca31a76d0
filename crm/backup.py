"""Backups and restores: SQLite's online backup API, or pg_dump/pg_restore for PostgreSQL.

A backup is consistent while the app is in use: SQLite copies the database in one read
transaction (writers carry on under WAL); pg_dump reads one snapshot.
"""

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy.engine import URL, make_url

from crm.errors import ServiceError


def default_backup_path(url: str, directory: Path, now: dt.datetime | None = None) -> Path:
    """`<directory>/vertskap-<UTC timestamp>.db` (SQLite) or `.dump` (pg_dump's custom format)."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".db" if make_url(url).get_backend_name() == "sqlite" else ".dump"
    return directory / f"vertskap-{stamp}{suffix}"


def backup_database(url: str, output: Path) -> Path:
    """Write a consistent copy of the database at `url` to `output`; returns the path."""
    parsed = make_url(url)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise ServiceError(_("%(path)s exists already; choose another file.", path=output))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _backup_sqlite(_sqlite_path(parsed), output)
    elif backend == "postgresql":
        _run_pg_tool("pg_dump", parsed, ["--format=custom", "--no-owner", "--file", str(output)])
    else:
        raise ServiceError(_("Backups are supported for SQLite and PostgreSQL only."))
    return output


def restore_database(url: str, backup: Path) -> None:
    """Replace the contents of the database at `url` with the backup (stop the app first)."""
    if not backup.is_file():
        raise ServiceError(_("No backup file at %(path)s.", path=backup))
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        _restore_sqlite(backup, _sqlite_path(parsed))
    elif backend == "postgresql":
        _pg_tool("vacuumdb")  # installed, before anything changes
        # One transaction: a failed restore leaves the database as it was.
        args = ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
        _run_pg_tool("pg_restore", parsed, [*args, "--dbname", parsed.database, str(backup)])
        # A restored database has no planner statistics and no visibility map until autovacuum
        # comes by: meanwhile every page would be planned blind. vacuumdb does that now.
        try:
            _run_pg_tool("vacuumdb", parsed, ["--analyze", "--quiet", "--dbname", parsed.database])
        except ServiceError as error:
            raise ServiceError(
                _(
                    "The backup was restored, but updating the planner's statistics failed "
                    "(%(error)s): run vacuumdb --analyze.",
                    error=error.message,
                )
            ) from None
    else:
        raise ServiceError(_("Restores are supported for SQLite and PostgreSQL only."))


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise ServiceError(_("An in-memory SQLite database cannot be backed up."))
    return Path(url.database)


def _backup_sqlite(source: Path, output: Path) -> None:
    if not source.is_file():
        raise ServiceError(_("No SQLite database at %(path)s.", path=source))
    partial = output.with_name(output.name + ".partial")
    src = sqlite3.connect(source, timeout=30)
    dest = sqlite3.connect(partial)
    try:
        # pages=-1 copies everything in one step, inside one read transaction: a consistent
        # snapshot, and under WAL the app's writers are not blocked meanwhile.
        src.backup(dest, pages=-1)
        dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dest.close()
        src.close()
    _check_sqlite_file(partial)
    os.replace(partial, output)


def _check_sqlite_file(path: Path) -> None:
    """Raise ServiceError unless `path` is an intact SQLite database of this app."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        ok, tables = False, set()
    if not ok:
        raise ServiceError(_("%(path)s is not an intact SQLite database.", path=path))
    if "organisation" not in tables:
        raise ServiceError(_("%(path)s is not a Vertskap database.", path=path))


def _restore_sqlite(backup: Path, target: Path) -> None:
    _check_sqlite_file(backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dest = sqlite3.connect(target, timeout=30)
    try:
        # The backup API writes through SQLite's locking (and a target's -wal file), which
        # copying the file over the database would not.
        src.backup(dest, pages=-1)
        dest.execute("PRAGMA journal_mode=WAL")
    finally:
        dest.close()
        src.close()


def _pg_tool(tool: str) -> str:
    """The path of a PostgreSQL client program, or a ServiceError saying how to install it."""
    executable = shutil.which(tool)
    if executable is None:
        raise ServiceError(
            _("%(tool)s is not installed (Debian: apt-get install postgresql-client).", tool=tool)
        )
    return executable


def _run_pg_tool(tool: str, url: URL, args: list[str]) -> None:
    """Run pg_dump, pg_restore or vacuumdb with the connection in libpq's environment."""
    executable = _pg_tool(tool)
    env = dict(os.environ)
    # The password goes in the environment, never on the command line (visible in ps).
    for key, value in {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }.items():
        if value:
            env[key] = value
    done = subprocess.run(  # noqa: S603 (fixed executable, no shell)
        [executable, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise ServiceError(
            _("%(tool)s failed: %(error)s", tool=tool, error=done.stderr.strip()[-2000:])
        )
