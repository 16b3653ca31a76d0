"""Fixtures: the app on a database of its own, clients, logged-in roles, record factories.

The database comes from TEST_DATABASE_URL (a PostgreSQL server URL: the suite creates a
database of its own on that server and drops it at the end) or is a temporary SQLite file.
"""

import datetime as dt
import os
import uuid
from zoneinfo import ZoneInfo

import flask_babel
import pytest
from sqlalchemy import event as sa_event

from config import TestConfig
from crm import create_app
from crm.extensions import db as _db
from tests.databases import own_database

OSLO = ZoneInfo("Europe/Oslo")


def office_today() -> dt.date:
    """Today where the office is (the app's day): the machine's UTC date differs after 23:00."""
    return dt.datetime.now(OSLO).date()


PASSWORD = "correct-horse-battery"


def compile_translations() -> None:
    """Compile each .po catalogue whose .mo is missing or stale (.mo files are not committed)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    from config import BASE_DIR

    for po in (BASE_DIR / "translations").glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        # write beside and rename: other test runs in this tree may be reading the .mo
        tmp = mo.with_name(f".{mo.name}.{os.getpid()}")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        os.replace(tmp, mo)


def pytest_addoption(parser):
    """`--screenshots`: the browser tests save a PNG of each main page into docs/screenshots/."""
    parser.addoption(
        "--screenshots",
        action="store_true",
        default=False,
        help="save a screenshot of each main page into docs/screenshots/ (browser tests)",
    )


def pytest_sessionstart(session):
    """Plain `pytest` works without `make`: compile the catalogues first."""
    compile_translations()


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory):
    """A fresh, empty database for this test run; dropped afterwards."""
    with own_database("vertskap_test", tmp_path_factory.mktemp("db") / "test.db", fast=True) as uri:
        yield uri


@pytest.fixture(scope="session")
def _schema(database_uri):
    """Create every table once per run."""
    app = create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": database_uri})
    with app.app_context():
        _db.create_all()
        _db.engine.dispose()
    return database_uri


def vars_of(cls) -> dict:
    """A config class's upper-case settings as a dict."""
    return {k: getattr(cls, k) for k in dir(cls) if k.isupper()}


@pytest.fixture
def app(_schema):
    """The app, in an app context, on the test database; tables emptied after each test."""
    app = create_app({**vars_of(TestConfig), "SQLALCHEMY_DATABASE_URI": _schema})
    with app.app_context():
        yield app
        _db.session.rollback()
        _db.session.remove()
        with _db.engine.begin() as conn:
            tables = list(reversed(_db.metadata.sorted_tables))
            # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table rewrites each
            # table's files and costs far more than deleting the few rows a test made.
            for table in tables:
                conn.execute(table.delete())
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The Flask-SQLAlchemy handle."""
    return _db


@pytest.fixture
def fresh_locale(app):
    """Choose the language anew for each request.

    The `app` fixture keeps one app context open, so test-client requests share `g`, where
    Flask-Babel caches the locale; in the real server every request has its own `g`.
    """
    app.before_request(flask_babel.refresh)


@pytest.fixture
def client(app):
    """A test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner."""
    return app.test_cli_runner()


_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """argon2 is slow on purpose; hash each test password once per run."""
    if password not in _HASHES:
        from crm.auth.services import hash_password

        _HASHES[password] = hash_password(password)
    return _HASHES[password]


@pytest.fixture
def make_user(db):
    """Factory: a staff user (default role coordinator, password PASSWORD)."""
    from crm.auth.models import User
    from crm.enums import Role

    def make(email=None, role="coordinator", name="", password=PASSWORD, **kw):
        user = User(
            email=email or f"user-{uuid.uuid4().hex[:8]}@example.org",
            role=Role(role),
            name=name or f"{role.title()} User",
            password_hash=password_hash(password),
            **kw,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


class AuthActions:
    """Log a test client in and out."""

    def __init__(self, client, make_user):
        self.client = client
        self.make_user = make_user

    def login(self, email, password=PASSWORD):
        return self.client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client, make_user):
    """Log in and out through the real login form."""
    return AuthActions(client, make_user)


@pytest.fixture
def login_as(client, make_user):
    """`login_as("viewer")` creates a user with that role, logs the client in, returns the user."""

    def login(role="coordinator", **kw):
        user = make_user(role=role, **kw)
        response = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.text
        return user

    return login


@pytest.fixture
def make_org(db):
    """Factory: an organisation through the service (defaults: a Norwegian university)."""
    from crm.organisations.services import create_organisation

    def make(**kw):
        data = {"name": "NTNU", "kind": "university", "country": "NO", "city": "Trondheim"}
        data.update(kw)
        org = create_organisation(**data)
        db.session.commit()
        return org

    return make


@pytest.fixture
def make_contact(db):
    """Factory: a contact through the service (defaults: a Swedish guest).

    Columns the service does not take (added by other features) are set on the model.
    """
    from crm.contacts.services import FIELDS, create_contact

    def make(**kw):
        data = {"first_name": "Astrid", "last_name": "Lindqvist", "email": "", "nationality": "SE"}
        data.update(kw)
        extra = {k: data.pop(k) for k in list(data) if k not in (*FIELDS, "tags")}
        contact = create_contact(**data)
        for key, value in extra.items():
            setattr(contact, key, value)
        db.session.commit()
        return contact

    return make


@pytest.fixture
def make_event(db):
    """Factory: an event through the service (defaults: a confirmed public delegation,
    tomorrow 10–12 Oslo time). Columns create_event does not take (deleted_at, uid, rrule ...)
    are set on the event afterwards."""
    import inspect

    from crm.events.services import create_event

    accepted = set(inspect.signature(create_event).parameters)

    def make(**kw):
        start = kw.pop("starts_at", None) or dt.datetime.combine(
            dt.date.today() + dt.timedelta(days=1), dt.time(10), OSLO
        )
        data = {
            "title": "Delegation from Gothenburg",
            "kind": "delegation",
            "status": "confirmed",
            "visibility": "public",
            "timezone": "Europe/Oslo",
            "starts_at": start,
            "ends_at": kw.pop("ends_at", None) or start + dt.timedelta(hours=2),
        }
        extra = {key: kw.pop(key) for key in list(kw) if key not in accepted}
        data.update(kw)
        event = create_event(**data)
        for key, value in extra.items():
            setattr(event, key, value)
        db.session.commit()
        return event

    return make


@pytest.fixture
def empty_database_uri(tmp_path):
    """A second, empty database (same kind as the suite's), for migration and process tests."""
    with own_database("vertskap_scratch", tmp_path / "empty.db") as uri:
        yield uri


@pytest.fixture(autouse=True)
def _no_leaked_request_context():
    """Fail fast when a test (or the code under test) leaves a request context pushed."""
    from flask import has_request_context

    assert not has_request_context(), "a previous test left a request context pushed"
    yield


def _weasyprint_missing() -> str:
    """Why WeasyPrint cannot render here ("" when it can)."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError) as error:  # OSError: the Pango system library is missing
        return f"WeasyPrint cannot load ({error}); install Pango: apt-get install libpango-1.0-0"
    return ""


@pytest.fixture
def needs_pdf():
    """Skip a PDF test with a clear reason on a machine without Pango (CI installs it)."""
    reason = _weasyprint_missing()
    if reason:
        if os.environ.get("VERTSKAP_REQUIRE_BROWSER"):
            pytest.fail(reason)
        pytest.skip(reason)


TRANSACTION_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"}


@pytest.fixture
def count_queries(db):
    """Context manager factory: counts the SQL statements run inside it."""
    from contextlib import contextmanager

    @contextmanager
    def counting():
        statements = []

        def before(conn, cursor, statement, parameters, context, executemany):
            # transaction control depends on the pool's state, not on the page's rows
            if statement.split(None, 1)[0].upper() not in TRANSACTION_CONTROL:
                statements.append(statement)

        sa_event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", before)

    return counting
