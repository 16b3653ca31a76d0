"""A request that only read ends with COMMIT on PostgreSQL, so its prepared statements stay.

Each `with app.app_context()` here stands for a request: in the server each request has its
own app context, whose end removes its session (the `app` fixture's outer context does not).
"""

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from crm.organisations.models import Organisation
from crm.readonly import only_reads
from crm.tags import Tag


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT organisation.id FROM organisation WHERE organisation.id = %(id)s", True),
        ("\n  select count(*) from contact", True),
        (";", True),  # the pool's ping
        ("SELECT id FROM event WHERE id = 1 FOR UPDATE", False),
        ("SELECT id FROM event\nFOR NO KEY UPDATE SKIP LOCKED", False),
        ("select id from event for share", False),
        ("INSERT INTO organisation (name) VALUES (%(name)s) RETURNING id", False),
        ("UPDATE calendar SET updated_at=%(now)s", False),
        ("DELETE FROM login_attempt WHERE at <= %(at)s", False),
        ("SAVEPOINT sa_savepoint_1", False),
        ("WITH moved AS (DELETE FROM tag RETURNING id) SELECT count(*) FROM moved", False),
        ("/* unknown */ SELECT 1", False),
    ],
)
def test_only_plain_selects_count_as_reads(statement, reads):
    assert only_reads(statement) is reads


@pytest.fixture
def pg_app(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL): SQLite keeps its statements anyway")
    db.session.commit()  # the outer context holds no connection: each "request" takes one
    return app


@pytest.fixture
def endings(pg_app, db):
    """How each transaction ended, in order: "commit" or "rollback"."""
    seen = []
    names = ("commit", "rollback")
    listeners = {name: (lambda conn, name=name: seen.append(name)) for name in names}
    for name, listener in listeners.items():
        event.listen(db.engine, name, listener)
    yield seen
    for name, listener in listeners.items():
        event.remove(db.engine, name, listener)


def test_a_request_that_only_read_commits_and_keeps_its_prepared_statements(pg_app, db, endings):
    org = Organisation(name="Kept")
    db.session.add(org)
    db.session.commit()
    endings.clear()
    query = select(Organisation.name).where(Organisation.id == org.id)
    for _ in range(12):  # psycopg prepares a statement on its fifth run on a connection
        with pg_app.app_context():
            assert db.session.scalar(query) == "Kept"
    assert endings == ["commit"] * 12
    with pg_app.app_context():  # the commit skipped expiring; the next session is as usual
        assert db.session().expire_on_commit is True
    with pg_app.app_context():
        prepared = db.session.scalars(text("SELECT statement FROM pg_prepared_statements")).all()
    assert any("FROM organisation" in statement for statement in prepared)


def test_a_request_that_flushed_without_committing_is_rolled_back(pg_app, db, endings):
    with pg_app.app_context():
        db.session.add(Organisation(name="Never saved"))
        db.session.flush()
    with pg_app.app_context():
        db.session.add(Organisation(name="Pending"))  # not even flushed: no transaction
    assert endings == ["rollback"]
    assert db.session.scalar(select(Organisation).where(Organisation.name != "")) is None


def test_a_write_the_session_does_not_track_is_rolled_back(pg_app, db, endings):
    db.session.add(Organisation(name="Before"))
    db.session.commit()
    endings.clear()
    with pg_app.app_context():
        db.session.execute(update(Organisation).values(name="After"))  # no flush, no object
    assert endings == ["rollback"]
    assert db.session.scalar(select(Organisation.name)) == "Before"


def test_a_request_that_failed_is_rolled_back_even_if_it_only_read(pg_app, db, endings):
    with pytest.raises(LookupError), pg_app.app_context():
        db.session.scalar(select(Organisation.id))
        raise LookupError("the view failed")
    assert endings == ["rollback"]


def test_after_a_commit_a_request_that_then_only_reads_commits_again(pg_app, db, endings):
    with pg_app.app_context():
        db.session.add(Organisation(name="Saved"))
        db.session.commit()  # the request's own commit
        assert db.session.scalar(select(Organisation.name)) == "Saved"
    assert endings == ["commit", "commit"]


def test_sqlite_keeps_rolling_back(app, db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    seen = []
    listener = lambda conn: seen.append("commit")  # noqa: E731
    event.listen(db.engine, "commit", listener)
    try:
        with app.app_context():
            db.session.scalar(select(Organisation.id))
    finally:
        event.remove(db.engine, "commit", listener)
    assert seen == []


def test_a_failed_statement_the_view_caught_is_rolled_back(pg_app, db, endings):
    with pg_app.app_context(), pytest.raises(DBAPIError):
        db.session.execute(text("SELECT 1 / 0"))
    assert endings == ["rollback"]


def test_a_changed_object_not_yet_flushed_is_rolled_back(pg_app, db, endings):
    db.session.add(Organisation(name="Before"))
    db.session.commit()
    endings.clear()
    with pg_app.app_context():
        db.session.scalar(select(Organisation)).name = "After"  # dirty, never flushed
    assert endings == ["rollback"]
    assert db.session.scalar(select(Organisation.name)) == "Before"


def test_a_savepoint_counts_as_a_write(pg_app, db, endings):
    with pg_app.app_context(), db.session.begin_nested():
        db.session.scalar(select(Organisation.id))
    assert endings == ["rollback"]


def test_a_failed_flush_left_unrolled_back_still_ends_cleanly(pg_app, db, endings):
    """The teardown neither raises nor keeps the connection: the session is still removed."""
    checked_out = db.engine.pool.checkedout()
    with pg_app.app_context():
        db.session.add_all([Tag(name="twice"), Tag(name="twice")])
        with pytest.raises(IntegrityError):
            db.session.flush()
    assert endings == ["rollback"]
    assert db.engine.pool.checkedout() == checked_out
    assert db.session.scalar(select(Tag)) is None


@pytest.mark.parametrize(("prepared", "threshold"), [(True, 5), (False, None)])
def test_prepared_statements_can_be_turned_off_for_a_pooler(pg_app, prepared, threshold):
    from config import TestConfig
    from crm import create_app
    from crm.extensions import db as handle
    from tests.conftest import vars_of

    settings = {
        **vars_of(TestConfig),
        "SQLALCHEMY_DATABASE_URI": pg_app.config["SQLALCHEMY_DATABASE_URI"],
        "DATABASE_PREPARED_STATEMENTS": prepared,
    }
    other = create_app(settings)
    with other.app_context():
        try:
            driver = handle.session.connection().connection.driver_connection
            assert driver.prepare_threshold == threshold
        finally:
            handle.session.remove()
            handle.engine.dispose()


def test_a_write_past_sqlalchemy_that_says_so_is_rolled_back(pg_app, db, endings):
    from crm.readonly import wrote

    with pg_app.app_context():
        connection = db.session.connection()
        wrote(connection)
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy("COPY tag (name) FROM STDIN") as copy:
            copy.write_row(["copied"])
    assert endings == ["rollback"]
    assert db.session.scalar(select(Tag).where(Tag.name == "copied")) is None
