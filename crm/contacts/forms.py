"""Contact and membership forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.enums import Language
from crm.forms import CountryField, TagsField, VersionField, stripped


class ContactForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=120)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=120)])
    title = StringField(
        _l("Title"),
        validators=[Optional(), Length(max=200)],
        description=_l("Job title or position, such as Consul General."),
    )
    email = StringField(_l("Email"), validators=[Optional(), Length(max=254)], filters=[stripped])
    other_emails = TextAreaField(
        _l("Other email addresses"),
        validators=[Optional(), Length(max=5000)],
        description=_l("One address per line."),
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    languages = StringField(
        _l("Languages spoken"),
        validators=[Optional(), Length(max=200)],
        description=_l("Separate languages with commas, such as nb, en, de."),
    )
    preferred_language = SelectField(
        _l("Preferred language for mail"),
        choices=Language.choices,
        default=Language.EN.value,
        validate_choice=False,  # the service checks the value and names the field
    )
    nationality = CountryField(_l("Nationality"))
    tags = TagsField(_l("Tags"), description=_l("Separate tags with commas."))
    dietary_needs = TextAreaField(_l("Dietary needs"), validators=[Optional(), Length(max=5000)])
    access_needs = TextAreaField(_l("Access needs"), validators=[Optional(), Length(max=5000)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])
    version = VersionField()

    def service_data(self) -> dict:
        """The form's data as keyword arguments for the services."""
        return {
            "first_name": self.first_name.data,
            "last_name": self.last_name.data,
            "title": self.title.data,
            "email": self.email.data,
            "other_emails": self.other_emails.data,
            "phone": self.phone.data,
            "languages": self.languages.data,
            "preferred_language": self.preferred_language.data,
            "nationality": self.nationality.data,
            "tags": self.tags.data if isinstance(self.tags.data, str) else None,
            "dietary_needs": self.dietary_needs.data,
            "access_needs": self.access_needs.data,
            "notes": self.notes.data,
        }


class MembershipForm(FlaskForm):
    # A text input, not a select: there are thousands of organisations. The as-you-type
    # picker (data-picker="organisations") fills `organisation_id`; without JavaScript the
    # server resolves the typed name.
    organisation = StringField(
        _l("Organisation"),
        validators=[Length(max=200)],
        description=_l("Type the organisation's full name."),
    )
    organisation_id = HiddenField()
    role = StringField(_l("Role"), validators=[Optional(), Length(max=200)])
    starts_on = DateField(_l("From"), validators=[Optional()])
    ends_on = DateField(_l("To"), validators=[Optional()])
