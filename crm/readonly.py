"""End a request that only read with COMMIT, so PostgreSQL keeps its prepared statements.

psycopg prepares a statement on the server once a connection has run it five times, and
then skips parsing and planning it. But psycopg forgets them all on every ROLLBACK (a
rollback may have undone a PREPARE), and a pooled connection is rolled back at the end of
every request: the web pages never got to use one. A transaction that wrote nothing ends
the same way whether it commits or rolls back, so such a request commits instead.

"Wrote nothing" is decided per connection from the SQL sent: any statement that is not a
plain SELECT (an INSERT, UPDATE or DELETE, DDL, a `SELECT ... FOR UPDATE`, a SAVEPOINT, a
statement this module does not recognise) marks the transaction as writing, and it is
rolled back as before. So does an error: the request's exception, or a failed statement.
Code that writes through the driver itself (a `COPY`) says so with `wrote(connection)`.
"""

import functools
import re

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from crm.extensions import db

WROTE = "vertskap_wrote"  # on a connection's info while its transaction may have written
# A SELECT without a locking clause, or the pool's empty ping.
_READS = re.compile(r"\s*(SELECT\b(?!.*\bFOR\s+(UPDATE|SHARE|NO\s+KEY|KEY)\b)|;?\s*$)", re.I | re.S)


@functools.lru_cache(maxsize=2048)  # the same few hundred statements, again and again
def only_reads(statement: str) -> bool:
    """Whether a statement surely changes nothing; anything unrecognised counts as a write."""
    return _READS.match(statement) is not None


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, cursor, statement, parameters, context, executemany):
    if WROTE not in conn.info and not only_reads(statement):
        conn.info[WROTE] = True


def wrote(conn) -> None:
    """Say that this connection's transaction wrote past SQLAlchemy (a raw driver cursor)."""
    conn.info[WROTE] = True


@event.listens_for(Engine, "handle_error")
def _note_errors(context):
    conn = context.connection
    if conn is not None and not conn.invalidated:  # an invalidated one is never reused
        conn.info[WROTE] = True


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _forget_writes(conn):
    if not conn.invalidated:  # its info would reconnect it (the scheduler lock's release)
        conn.info.pop(WROTE, None)


# The connection a session's transaction runs on, kept from its begin to its end, so that
# the teardown need not ask for one (which would begin a transaction where none ran).
_CONNECTION = "vertskap_connection"


@event.listens_for(Session, "after_begin")
def _remember_connection(session, transaction, connection):
    session.info[_CONNECTION] = connection


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session, transaction):
    if transaction.parent is None:
        session.info.pop(_CONNECTION, None)


def init_app(app: Flask) -> None:
    """Commit read-only requests on PostgreSQL (register after Flask-SQLAlchemy)."""

    @app.teardown_appcontext
    def _commit_if_only_read(error):
        if error is not None or not db.session.registry.has():
            return
        try:
            _commit_if_only_read_now(db.session())
        except Exception:  # never in the way of the session's removal, which rolls back
            current_app.logger.warning("could not end a read-only transaction", exc_info=True)


def _commit_if_only_read_now(session: Session) -> None:
    connection = session.info.get(_CONNECTION)
    if connection is None or connection.invalidated or connection.dialect.name != "postgresql":
        return  # no statement ran; the connection is gone; SQLite keeps its statements anyway
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active:  # a failed flush not rolled back
        return
    if session.new or session.dirty or session.deleted or connection.info.get(WROTE):
        return
    session.expire_on_commit = False  # it is removed next: expiring what it loaded is waste
    session.commit()
