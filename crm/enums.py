"""Enumerations of the domain, with translatable labels.

Stored as their string values (non-native enums), so both databases and the JSON API use
the same words.
"""

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum as SAEnum

from crm.i18n import translated


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a translatable label."""

    @property
    def label(self) -> str:
        return translated(LABELS[(type(self), self.value)])

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for a select field."""
        return [(m.value, m.label) for m in cls]


def enum_column(enum_cls: type[enum.Enum], length: int = 20) -> SAEnum:
    """A portable column type for an enum: VARCHAR with a CHECK constraint."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        create_constraint=True,
        name=enum_cls.__name__.lower(),
    )


class Role(LabelledEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    VIEWER = "viewer"


class OrganisationKind(LabelledEnum):
    UNIVERSITY = "university"
    RESEARCH = "research"
    NGO = "ngo"
    BUSINESS = "business"
    CONSULATE = "consulate"
    PUBLIC_BODY = "public_body"
    STUDENT_ORG = "student_org"
    CULTURAL = "cultural"
    TWIN_CITY = "twin_city"
    OTHER = "other"


class TwinCityCategory(LabelledEnum):
    """The four kinds of twin-city relation of strategy 2c."""

    PROJECT_AGREEMENT = "project_agreement"
    POLITICAL_FOCUS = "political_focus"
    SOLIDARITY = "solidarity"
    DORMANT = "dormant"


class EventKind(LabelledEnum):
    DELEGATION = "delegation"
    CONGRESS = "congress"
    CULTURAL = "cultural"
    FAIR = "fair"
    SPORTS = "sports"
    MEETING = "meeting"
    OTHER = "other"


class EventStatus(LabelledEnum):
    TENTATIVE = "tentative"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DONE = "done"


class Visibility(LabelledEnum):
    PUBLIC = "public"
    PARTNERS = "partners"
    INTERNAL = "internal"


class ParticipationRole(LabelledEnum):
    HOST = "host"
    ORGANISER = "organiser"
    DELEGATE = "delegate"
    SPEAKER = "speaker"
    SPONSOR = "sponsor"
    PARTNER = "partner"
    GUEST = "guest"


class Language(LabelledEnum):
    NB = "nb"
    EN = "en"


_LABELS = [
    (Role.ADMIN, _l("Administrator")),
    (Role.COORDINATOR, _l("Coordinator")),
    (Role.VIEWER, _l("Viewer")),
    (OrganisationKind.UNIVERSITY, _l("University")),
    (OrganisationKind.RESEARCH, _l("Research")),
    (OrganisationKind.NGO, _l("NGO / voluntary organisation")),
    (OrganisationKind.BUSINESS, _l("Business")),
    (OrganisationKind.CONSULATE, _l("Consulate")),
    (OrganisationKind.PUBLIC_BODY, _l("Public body")),
    (OrganisationKind.STUDENT_ORG, _l("Student organisation")),
    (OrganisationKind.CULTURAL, _l("Cultural institution")),
    (OrganisationKind.TWIN_CITY, _l("Twin city")),
    (OrganisationKind.OTHER, _l("Other")),
    (TwinCityCategory.PROJECT_AGREEMENT, _l("Project agreement")),
    (TwinCityCategory.POLITICAL_FOCUS, _l("Political focus area")),
    (TwinCityCategory.SOLIDARITY, _l("Solidarity relation")),
    (TwinCityCategory.DORMANT, _l("Dormant relation")),
    (EventKind.DELEGATION, _l("Delegation visit")),
    (EventKind.CONGRESS, _l("Congress")),
    (EventKind.CULTURAL, _l("Cultural event")),
    (EventKind.FAIR, _l("Fair")),
    (EventKind.SPORTS, _l("Sports event")),
    (EventKind.MEETING, _l("Meeting")),
    (EventKind.OTHER, _l("Other")),
    (EventStatus.TENTATIVE, _l("Tentative")),
    (EventStatus.CONFIRMED, _l("Confirmed")),
    (EventStatus.CANCELLED, _l("Cancelled")),
    (EventStatus.DONE, _l("Done")),
    (Visibility.PUBLIC, _l("Public")),
    (Visibility.PARTNERS, _l("Partners")),
    (Visibility.INTERNAL, _l("Internal")),
    (ParticipationRole.HOST, _l("Host")),
    (ParticipationRole.ORGANISER, _l("Organiser")),
    (ParticipationRole.DELEGATE, _l("Delegate")),
    (ParticipationRole.SPEAKER, _l("Speaker")),
    (ParticipationRole.SPONSOR, _l("Sponsor")),
    (ParticipationRole.PARTNER, _l("Partner")),
    (ParticipationRole.GUEST, _l("Guest")),
    (Language.NB, _l("Norwegian Bokmål")),
    (Language.EN, _l("English")),
]

# Keyed by (class, value): str enums of different classes with one value ("cultural",
# "other") compare equal, so the members themselves cannot be the keys.
LABELS = {(type(member), member.value): label for member, label in _LABELS}
