"""Organisation forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

from crm.enums import OrganisationKind, TwinCityCategory
from crm.forms import CountryField, TagsField, VersionField


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(_l("Kind"), choices=OrganisationKind.choices)
    country = CountryField(_l("Country"))
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    website = StringField(
        _l("Website"),
        validators=[
            Optional(),
            Length(max=500),
            URL(require_tld=True, message=_l("Enter a web address such as https://www.ntnu.no.")),
        ],
    )
    tags = TagsField(_l("Tags"), description=_l("Separate tags with commas."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])
    represented_country = CountryField(
        _l("Represented country"), description=_l("For a consulate: the country it represents.")
    )
    twin_city_category = SelectField(
        _l("Twin-city relation"),
        choices=lambda: [("", "—"), *TwinCityCategory.choices()],
        default="",
        coerce=lambda value: getattr(value, "value", value) or "",
        validate_choice=False,  # the service checks the value and names the field
        description=_l("For a twin city: the kind of relation (strategy 2c)."),
    )
    twin_city_since = IntegerField(
        _l("Twin city since (year)"),
        validators=[
            Optional(),
            NumberRange(min=1000, max=2999, message=_l("Enter a year such as 1990.")),
        ],
    )
    version = VersionField()

    def service_data(self) -> dict:
        """The form's data as keyword arguments for the services."""
        return {
            "name": self.name.data,
            "kind": self.kind.data,
            "country": self.country.data,
            "city": self.city.data,
            "website": self.website.data,
            "tags": self.tags.data if isinstance(self.tags.data, str) else None,
            "notes": self.notes.data,
            "represented_country": self.represented_country.data,
            "twin_city_category": self.twin_city_category.data or None,
            "twin_city_since": self.twin_city_since.data,
        }
