"""Databases of the tests' own: a SQLite file, or a PostgreSQL database created and dropped."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from config import database_url


@contextmanager
def own_database(prefix: str, sqlite_path: Path, *, fast: bool = False) -> Iterator[str]:
    """Yield a URL for an empty database of this test run's own.

    With TEST_DATABASE_URL (a PostgreSQL server) a database named `<prefix>_<pid>_<random>` is
    created on that server and dropped afterwards; other databases are never touched. Without
    it, a SQLite file at `sqlite_path`. `fast` skips PostgreSQL's fsync at each commit.
    """
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{sqlite_path}"
        return
    url = make_url(database_url(server))
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        if fast:
            # A test database need not survive a power cut.
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
