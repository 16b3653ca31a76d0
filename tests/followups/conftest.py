"""Fixtures for follow-ups: reminder rules and an SMTP server come from the reminders tests."""

from tests.reminders.conftest import add_participant, inbox, rules, smtp_server  # noqa: F401
