"""SQLite settings for concurrent use: WAL, a busy timeout and foreign keys."""

from sqlalchemy import event


def configure_sqlite(engine) -> None:
    """Turn on foreign keys, WAL and a busy timeout on every new SQLite connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
