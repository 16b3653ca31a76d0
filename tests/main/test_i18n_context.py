"""Language selection outside a request (CLI, scheduler)."""

from flask_babel import get_locale, gettext


def test_services_translate_outside_a_request_in_the_default_language(app):
    assert str(get_locale()) == "nb"
    assert gettext("Enter a name.")
