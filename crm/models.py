"""Import every model so that metadata (migrations, create_all) sees all tables."""

from crm.audit.models import AuditEntry
from crm.auth.models import ApiToken, LoginAttempt, User
from crm.calendars.models import Calendar, EventIcal, ImportBatch, Subscription
from crm.contacts.models import Contact, Membership
from crm.events.models import Event, EventCountry, Participation, ProgrammeItem
from crm.followups.models import FollowUp, Interaction
from crm.imports.models import CsvImport
from crm.organisations.models import Organisation
from crm.privacy.models import Consent, ContactPrivacy
from crm.protocol.models import (
    Agreement,
    FollowUpProposal,
    Gift,
    ProgrammeItemDetail,
)
from crm.reminders.models import (
    OutboxMessage,
    ReminderPreference,
    ReminderRule,
    ReminderSubscription,
)
from crm.tags import Tag

__all__ = [
    "Agreement",
    "ApiToken",
    "AuditEntry",
    "Calendar",
    "Consent",
    "Contact",
    "ContactPrivacy",
    "CsvImport",
    "Event",
    "EventCountry",
    "EventIcal",
    "FollowUp",
    "FollowUpProposal",
    "Gift",
    "ImportBatch",
    "Interaction",
    "LoginAttempt",
    "Membership",
    "Organisation",
    "OutboxMessage",
    "Participation",
    "ProgrammeItem",
    "ProgrammeItemDetail",
    "ReminderPreference",
    "ReminderRule",
    "ReminderSubscription",
    "Subscription",
    "Tag",
    "User",
]
