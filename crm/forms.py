"""Form helpers shared by every feature."""

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import ValidationError

from crm.errors import ServiceError
from crm.i18n import country_choices, is_country


def apply_service_error(form, error: ServiceError) -> None:
    """Show a service's error on the field it names, else at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


class CountryField(SelectField):
    """A select of ISO 3166 countries, named in the user's language."""

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, choices=[], validate_choice=False, **kwargs)

    def iter_choices(self):
        if not self.choices:
            self.choices = country_choices()
        return super().iter_choices()

    def pre_validate(self, form):
        if self.data and not is_country(self.data):
            raise ValidationError(_l("Choose a country from the list."))

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        self.data = (self.data or "").upper() or None


class TagsField(StringField):
    """Comma-separated tags; shows a model's tag list as "a, b"."""

    def _value(self):
        if isinstance(self.data, list):
            return ", ".join(str(t) for t in self.data)
        return self.data or ""


class VersionField(HiddenField):
    """The record version the user saw, for optimistic locking."""

    def process_formdata(self, valuelist):
        try:
            self.data = int(valuelist[0]) if valuelist and valuelist[0] else None
        except ValueError:
            self.data = None


__all__ = ["CountryField", "IntegerField", "TagsField", "VersionField", "apply_service_error"]
