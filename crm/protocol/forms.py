"""Forms of the protocol office: programme item details, agreements, gifts."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.enums import TwinCityCategory
from crm.events.models import Event
from crm.extensions import db
from crm.forms import VersionField
from crm.organisations.models import Organisation
from crm.protocol.models import GiftDirection


def _value(value) -> str:
    """A select's stored value as text (enums, ids and None alike)."""
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def organisation_choices(blank: bool = True) -> list[tuple[str, str]]:
    """Organisations for a select, by name."""
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name)
    )
    return ([("", "—")] if blank else []) + [(str(i), name) for i, name in rows]


def staff_choices() -> list[tuple[str, str]]:
    """Active staff for a "responsible" select."""
    users = db.session.scalars(
        select(User).where(User.is_active_user.is_(True)).order_by(User.name, User.email)
    )
    return [("", "—")] + [(str(u.id), u.display_name) for u in users]


def contact_choices() -> list[tuple[str, str]]:
    """Contacts for a select, by name (the first thousand)."""
    contacts = db.session.scalars(
        select(Contact).order_by(Contact.last_name, Contact.first_name).limit(1000)
    )
    return [("", "—")] + [(str(c.id), c.name) for c in contacts]


def event_choices() -> list[tuple[str, str]]:
    """Events of the last two years and the next, newest first."""
    today = dt.datetime.now(dt.UTC)
    events = db.session.scalars(
        select(Event)
        .where(
            Event.deleted_at.is_(None),
            Event.starts_at > today - dt.timedelta(days=730),
            Event.starts_at < today + dt.timedelta(days=365),
        )
        .order_by(Event.starts_at.desc())
        .limit(1000)
    )
    return [("", "—")] + [(str(e.id), f"{e.local_start:%Y-%m-%d} {e.title}") for e in events]


class ItemDetailForm(FlaskForm):
    seen = HiddenField()  # the details' fingerprint when the form was made (services)
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    our_hosts = TextAreaField(
        _l("Our hosts"), description=_l("Separate names with commas or semicolons.")
    )
    partner_hosts = TextAreaField(
        _l("Partner hosts"), description=_l("Separate names with commas or semicolons.")
    )
    interpreter = StringField(_l("Interpreter"), validators=[Optional(), Length(max=200)])
    transport = TextAreaField(_l("Transport"))
    notes = TextAreaField(_l("Notes"))
    shared_with_organisation_id = SelectField(
        _l("Shared with partner"),
        choices=lambda: organisation_choices(),
        validate_choice=False,  # the service checks the organisation
        description=_l("The item appears in this partner's calendar feed."),
    )

    def service_data(self) -> dict:
        """The form's data as keyword arguments for update_item_detail."""
        return {
            "seen": self.seen.data or None,
            "address": self.address.data,
            "our_hosts": self.our_hosts.data,
            "partner_hosts": self.partner_hosts.data,
            "interpreter": self.interpreter.data,
            "transport": self.transport.data,
            "notes": self.notes.data,
            "shared_with_organisation_id": self.shared_with_organisation_id.data or None,
        }


class AgreementForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    party_ids = SelectMultipleField(
        _l("Parties"),
        choices=lambda: organisation_choices(blank=False),
        validate_choice=False,  # the service checks each organisation
        description=_l("The partner organisations and twin cities that signed."),
    )
    category = SelectField(
        _l("Category"),
        choices=lambda: [("", "—"), *TwinCityCategory.choices()],
        coerce=_value,
        validate_choice=False,
        description=_l("The kinds of relation of strategy 2c."),
    )
    signed_on = DateField(_l("Signed on"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()])
    renewal_on = DateField(_l("Renewal date"), validators=[Optional()])
    notice_on = DateField(_l("Notice date"), validators=[Optional()])
    goals = TextAreaField(_l("Goals"))
    results = TextAreaField(_l("Results"))
    documents = TextAreaField(_l("Documents"), description=_l("One link per line."))
    responsible_id = SelectField(
        _l("Responsible"), choices=lambda: staff_choices(), coerce=_value, validate_choice=False
    )
    version = VersionField()

    def service_data(self) -> dict:
        """The form's data as keyword arguments for the agreement services."""
        return {
            "title": self.title.data,
            "party_ids": self.party_ids.data or [],
            "category": self.category.data or None,
            "signed_on": self.signed_on.data,
            "valid_until": self.valid_until.data,
            "renewal_on": self.renewal_on.data,
            "notice_on": self.notice_on.data,
            "goals": self.goals.data,
            "results": self.results.data,
            "documents": self.documents.data,
            "responsible_id": self.responsible_id.data or None,
        }


class GiftForm(FlaskForm):
    description = StringField(_l("Gift"), validators=[DataRequired(), Length(max=300)])
    direction = SelectField(
        _l("Direction"), choices=GiftDirection.choices, coerce=_value, validate_choice=False
    )
    given_on = DateField(_l("Date"), validators=[DataRequired()])
    giver = StringField(_l("From"), validators=[Optional(), Length(max=300)])
    recipient = StringField(_l("To"), validators=[Optional(), Length(max=300)])
    organisation_id = SelectField(
        _l("Organisation"),
        choices=lambda: organisation_choices(),
        validate_choice=False,
        coerce=_value,
    )
    contact_id = SelectField(
        _l("Contact"), choices=lambda: contact_choices(), validate_choice=False, coerce=_value
    )
    event_id = SelectField(
        _l("Event"), choices=lambda: event_choices(), validate_choice=False, coerce=_value
    )
    value = StringField(
        _l("Value (NOK)"), validators=[Optional()], description=_l("For example 1250 or 1250,50.")
    )
    location = StringField(_l("Where it is now"), validators=[Optional(), Length(max=300)])
    notes = TextAreaField(_l("Notes"))
    version = VersionField()

    def service_data(self) -> dict:
        """The form's data as keyword arguments for the gift services."""
        return {
            "description": self.description.data,
            "direction": self.direction.data,
            "given_on": self.given_on.data,
            "giver": self.giver.data,
            "recipient": self.recipient.data,
            "organisation_id": self.organisation_id.data or None,
            "contact_id": self.contact_id.data or None,
            "event_id": self.event_id.data or None,
            "value": self.value.data,
            "location": self.location.data,
            "notes": self.notes.data,
        }
