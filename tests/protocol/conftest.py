"""Fixtures for the protocol tests: the reminders feature's real SMTP server."""

from tests.reminders.conftest import inbox, smtp_server  # noqa: F401  (fixtures)
