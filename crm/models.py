"""Import every model so that metadata (migrations, create_all) sees all tables."""

from crm.auth.models import ApiToken, User
from crm.contacts.models import Contact, Membership
from crm.events.models import Event, EventCountry, Participation, ProgrammeItem
from crm.organisations.models import Organisation
from crm.tags import Tag

__all__ = [
    "ApiToken",
    "Contact",
    "Event",
    "EventCountry",
    "Membership",
    "Organisation",
    "Participation",
    "ProgrammeItem",
    "Tag",
    "User",
]
