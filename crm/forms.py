"""Form helpers shared by every feature."""

import flask_wtf.form
from flask import current_app, has_request_context
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import Form, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import ValidationError

from crm.errors import ServiceError
from crm.i18n import country_choices, current_locale, is_country
from crm.timeutil import in_bounds, out_of_bounds_message

# WTForms' bundled nb catalogue lacks these (or has them only as fuzzy); ours translates them.
WTFORMS_GAPS = (
    _l("Not a valid time value."),
    _l("Not a valid week value."),
    _l("This field cannot be edited."),
    _l("This field is disabled and cannot have a value."),
)


class FormTranslations:
    """WTForms' own messages in the user's language: WTForms' catalogue, then the app's.

    Every form asks for its validators' messages as it is made; finding WTForms' catalogue
    costs some 20 µs each time, so each (language, message) is looked up once per process.
    """

    def __init__(self):
        self._known: dict = {}

    def gettext(self, string: str) -> str:
        key = (current_locale(), string) if has_request_context() else None
        try:
            return self._known[key]
        except KeyError:
            pass
        translated = wtforms_translations.gettext(string)
        if translated == string and key is not None:
            translated = get_translations().ugettext(string)
        if key is not None:
            self._known[key] = translated
        return translated

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        translated = wtforms_translations.ngettext(singular, plural, n)
        if translated in (singular, plural) and has_request_context():
            return get_translations().ungettext(singular, plural, n)
        return translated


form_translations = FormTranslations()


def install_form_translations() -> None:
    """Make every FlaskForm use FormTranslations (Flask-WTF alone has no fallback catalogue)."""
    flask_wtf.form.translations = form_translations


class SubForm(Form):
    """A row inside a FieldList(FormField(...)): no CSRF token of its own, messages translated.

    FormField builds its form without the parent's meta, so a plain `Form` would show
    WTForms' messages in English whatever the language.
    """

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return None
            return form_translations


def apply_service_error(form, error: ServiceError) -> None:
    """Show a service's error on the field it names, else at the top of the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        field.errors.append(error.message)
    else:
        form.form_errors.append(error.message)


def stripped(value):
    """A field filter: text without the spaces around it (pasted addresses often have some)."""
    return value.strip() if isinstance(value, str) else value


class DateInBounds:
    """A validator: the date lies between crm.timeutil's FIRST_DAY and LAST_DAY.

    Put it after Optional() or DataRequired(); the form's own checks, which turn dates into
    instants, then skip a field that has errors.
    """

    def __call__(self, form, field):
        if field.data is not None and not in_bounds(field.data):
            raise ValidationError(out_of_bounds_message())


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
    """Comma-separated tags; shows a model's tag list as "a, b". A tag too long is refused
    here, where the user can shorten it (parse_tags would cut it)."""

    def _value(self):
        if isinstance(self.data, list):
            return ", ".join(str(t) for t in self.data)
        return self.data or ""

    def pre_validate(self, form):
        from crm.tags import TAG_MAX

        if isinstance(self.data, str):
            for tag in self.data.split(","):
                if len(" ".join(tag.split())) > TAG_MAX:
                    raise ValidationError(
                        _("A tag can have at most %(count)s characters.", count=TAG_MAX)
                    )


class VersionField(HiddenField):
    """The record version the user saw, for optimistic locking."""

    def process_formdata(self, valuelist):
        try:
            self.data = int(valuelist[0]) if valuelist and valuelist[0] else None
        except ValueError:
            self.data = None


__all__ = [
    "CountryField",
    "DateInBounds",
    "IntegerField",
    "SubForm",
    "TagsField",
    "VersionField",
    "apply_service_error",
    "install_form_translations",
    "stripped",
]
