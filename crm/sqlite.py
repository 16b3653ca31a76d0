"""SQLite settings for concurrent use: WAL, a busy timeout, foreign keys, IMMEDIATE writes."""

from flask import current_app, has_request_context, request
from sqlalchemy import event

# Requests with these methods only read; their transactions stay DEFERRED so that they
# never hold SQLite's single write lock while a page renders.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def writes_on_read(view):
    """Mark a GET view that writes (e.g. records a feed's fetch time): IMMEDIATE on SQLite."""
    view.sqlite_immediate = True
    return view


def begin_statement() -> str:
    """The BEGIN to emit: DEFERRED inside a read-only request, IMMEDIATE everywhere else."""
    if has_request_context() and request.method in READ_ONLY_METHODS:
        view = current_app.view_functions.get(request.endpoint)
        if not getattr(view, "sqlite_immediate", False):
            return "BEGIN"
    return "BEGIN IMMEDIATE"


def configure_sqlite(engine) -> None:
    """Turn on foreign keys, WAL and a busy timeout, and take the write lock at BEGIN."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        # Stop pysqlite from emitting its own (deferred) BEGIN: we emit ours in _on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A DEFERRED transaction that reads and then writes fails at once with "database is
        # locked" (SQLITE_BUSY_SNAPSHOT, the busy timeout does not apply) when another
        # connection committed in between; BEGIN IMMEDIATE waits for the lock up front.
        conn.exec_driver_sql(begin_statement())
