"""Templates and labels translate through a cached catalogue that still follows force_locale."""

from flask import render_template_string
from flask_babel import force_locale

from crm.enums import LABELS, EventKind
from crm.i18n import gettext, ngettext, translated
from crm.reminders.models import OutboxStatus


def test_template_strings_follow_the_language_and_force_locale(app):
    template = "{{ _('Events') }}|{{ _('Failed') }}"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert render_template_string(template) == "Events|Failed"
        with force_locale("nb"):
            assert render_template_string(template) == "Arrangementer|Mislyktes"
        assert render_template_string(template) == "Events|Failed"


def test_labels_are_cached_per_language(app):
    with app.test_request_context("/", headers={"Accept-Language": "nb"}):
        assert EventKind.DELEGATION.label == "Delegasjonsbesøk"
        assert OutboxStatus.FAILED.label == "Mislyktes"
        with force_locale("en"):
            assert EventKind.DELEGATION.label == "Delegation visit"
            assert OutboxStatus.FAILED.label == "Failed"
        assert EventKind.DELEGATION.label == "Delegasjonsbesøk"


def test_without_a_catalogue_entry_or_a_context_the_text_is_kept(app):
    with app.test_request_context("/", headers={"Accept-Language": "nb"}):
        assert ngettext("%(num)s apple", "%(num)s apples", 2) == "%(num)s apples"
        assert gettext("No such message id") == "No such message id"
    with app.app_context():  # CLI and scheduler: the default language, Bokmål
        assert translated(LABELS[(EventKind, "delegation")]) == "Delegasjonsbesøk"


def test_current_locale_is_flask_babels_in_every_state(app):
    """Before the request chose, once chosen, inside force_locale (also as the first ask),
    after it, after flask_babel.refresh(), and in a bare app context."""
    import flask_babel

    from crm.i18n import current_locale

    def same() -> str:
        assert current_locale() == flask_babel.get_locale()
        return str(current_locale())

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        with force_locale("nb"):  # before anything chose
            assert same() == "nb"
        assert same() == "en"
        assert same() == "en"  # chosen, read from where flask-babel keeps it
        with force_locale("nb"):
            assert same() == "nb"
        assert same() == "en"
        flask_babel.refresh()
        assert same() == "en"
    with app.app_context():
        assert same() == app.config["BABEL_DEFAULT_LOCALE"]


def test_every_request_in_one_language_gets_the_same_locale_object(app):
    """The caches keyed by Locale then find their entries by identity (crm.i18n.app_locale)."""
    import flask_babel

    seen = {}
    for language in ("en", "nb", "en", "nb"):
        with app.test_request_context("/", headers={"Accept-Language": language}):
            flask_babel.refresh()  # the fixture's app context is shared by these requests
            locale = flask_babel.get_locale()
            assert str(locale) == language
            assert seen.setdefault(language, locale) is locale
    with app.app_context():
        assert flask_babel.get_locale() is seen[app.config["BABEL_DEFAULT_LOCALE"]]
