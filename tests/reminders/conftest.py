"""Fixtures for reminders: a real SMTP server (aiosmtpd), default rules, outbox helpers."""

import datetime as dt
import email
import email.policy
import socket
import threading

import pytest
from aiosmtpd.controller import Controller

UTC = dt.UTC


def free_port() -> int:
    """A TCP port nobody listens on right now (aiosmtpd cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the test SMTP server received: (envelope recipients, parsed message) pairs."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.received.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    @property
    def messages(self):
        return [message for _rcpt, message in self.received]

    def to(self, address: str):
        """Messages whose envelope went to `address`."""
        return [m for rcpt, m in self.received if address in rcpt]


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(app):
    """An SMTP server the app sends to, not yet started (for the outage tests)."""
    server = SmtpServer(free_port())
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_TIMEOUT=5)
    yield server
    server.stop()


@pytest.fixture
def inbox(smtp_server):
    """A running SMTP server's inbox."""
    smtp_server.start()
    return smtp_server.inbox


@pytest.fixture
def rules(db):
    """The default reminder rules, by kind value."""
    from crm.reminders.services import ensure_default_rules, list_rules

    ensure_default_rules()
    db.session.commit()
    return {rule.kind.value: rule for rule in list_rules()}


@pytest.fixture
def add_participant(db):
    """Put a contact (opted in to reminders unless told otherwise) into an event."""
    from crm.events.models import Participation
    from crm.reminders.services import opt_in

    def add(event, contact, *, opted_in=True, role="delegate"):
        db.session.add(Participation(event_id=event.id, contact_id=contact.id, role=role))
        if opted_in:
            opt_in(contact, source="test")
        db.session.commit()

    return add


@pytest.fixture
def queue_mail(db):
    """Put a ready-made row in the outbox (for dispatcher tests)."""
    from crm.reminders.models import OutboxMessage, OutboxStatus, RuleKind

    def queue(key, *, due_at, email="kari@example.org", **kw):
        row = OutboxMessage(
            idempotency_key=key,
            kind=kw.pop("kind", RuleKind.FOLLOWUP_ASSIGNED),
            recipient_email=email,
            recipient_name="Kari",
            language="en",
            subject=f"Subject {key}",
            body_text=f"Text {key}",
            body_html=f"<p>HTML {key}</p>",
            due_at=due_at,
            next_attempt_at=due_at,
            status=kw.pop("status", OutboxStatus.QUEUED),
            **kw,
        )
        db.session.add(row)
        db.session.commit()
        return row

    return queue


def rows(db, **filters):
    """Outbox rows (fresh from the database), optionally filtered by column values."""
    from crm.reminders.models import OutboxMessage

    db.session.expire_all()
    stmt = db.select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)
    return db.session.scalars(stmt).all()
