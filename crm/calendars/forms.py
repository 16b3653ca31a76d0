"""Calendar, subscription, add-event and import forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.enums import EventKind, Visibility
from crm.forms import TagsField


def _optional_int(value):
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


class CalendarForm(FlaskForm):
    slug = StringField(
        _l("Address"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("Lower-case letters, digits and hyphens; part of the feed's address."),
    )
    name_nb = StringField(_l("Name (Norwegian)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=200)])
    description_nb = TextAreaField(
        _l("Description (Norwegian)"), validators=[Optional(), Length(max=5000)]
    )
    description_en = TextAreaField(
        _l("Description (English)"), validators=[Optional(), Length(max=5000)]
    )
    is_public = BooleanField(
        _l("Public calendar"),
        description=_l(
            "Anyone may subscribe and see its public page; it shows public events only."
        ),
    )
    rule_enabled = BooleanField(
        _l("Select events by rule"),
        default=True,
        description=_l("Off: the calendar holds only the events added by hand."),
    )
    rule_kinds = SelectMultipleField(
        _l("Kinds"),
        choices=EventKind.choices,
        validate_choice=False,  # the service checks the values and names the field
        description=_l("None chosen: every kind."),
    )
    rule_visibilities = SelectMultipleField(
        _l("Visibility"),
        choices=Visibility.choices,
        validate_choice=False,
        description=_l("None chosen: every visibility."),
    )
    rule_tags = TagsField(_l("Tags"), description=_l("Any of these tags; separate with commas."))

    def service_data(self) -> dict:
        """The form's data as keyword arguments for the services."""
        return {
            "slug": self.slug.data,
            "name_nb": self.name_nb.data,
            "name_en": self.name_en.data,
            "description_nb": self.description_nb.data,
            "description_en": self.description_en.data,
            "is_public": self.is_public.data,
            "rule_enabled": self.rule_enabled.data,
            "rule_kinds": self.rule_kinds.data or [],
            "rule_visibilities": self.rule_visibilities.data or [],
            "rule_tags": self.rule_tags.data if isinstance(self.rule_tags.data, str) else "",
        }


class SubscriptionForm(FlaskForm):
    organisation_id = SelectField(
        _l("Organisation"), choices=[], coerce=_optional_int, validate_choice=False
    )
    contact_id = SelectField(_l("Contact"), choices=[], coerce=_optional_int, validate_choice=False)
    user_id = SelectField(
        _l("Staff user"),
        choices=[],
        coerce=_optional_int,
        validate_choice=False,
        description=_l("A staff user's feed also shows internal events."),
    )
    label = StringField(
        _l("Note"),
        validators=[Optional(), Length(max=200)],
        description=_l("For example: the consulate's shared Outlook calendar."),
    )


class AddEventForm(FlaskForm):
    event_id = SelectField(_l("Event"), choices=[], coerce=_optional_int, validate_choice=False)


class ImportForm(FlaskForm):
    file = FileField(
        _l("iCalendar file (.ics)"),
        validators=[FileRequired(_l("Choose a file."))],
        description=_l(
            "Exported from Outlook, Google Calendar, Apple Calendar or another calendar."
        ),
    )
