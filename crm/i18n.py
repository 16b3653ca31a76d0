"""Language and locale: which language a request gets, country names, formatting helpers."""

import datetime as dt
import functools
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import current_app, has_request_context, request, session
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_time,
    get_locale,
    get_translations,
)
from flask_login import current_user

# Territory codes Babel knows that are not countries (regions, test and grouping codes).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


def select_locale() -> str:
    """The user's saved choice, else the session's, else the browser's Accept-Language."""
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # CLI, scheduler jobs: the default language (mail uses force_locale per recipient)
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages, default=languages[0])


def select_timezone() -> str:
    """Pages show times in the office's zone unless a view formats in an event's zone."""
    return current_app.config["OFFICE_TIMEZONE"]


# flask-babel finds the catalogue anew for every string (a dozen context look-ups, ~6 µs);
# a page translates a few hundred strings and labels. The catalogue of a language never
# changes while the app runs, so it is kept here per Locale (force_locale gives another).
_catalogues: dict = {}
_translated: dict = {}


def _catalogue():
    locale = get_locale()
    try:
        return _catalogues[locale]
    except KeyError:
        if locale is None:  # outside a request or app context: no translation
            return None
        catalogue = _catalogues[locale] = get_translations()
        return catalogue


def gettext(string: str) -> str:
    """`string` in the current language (templates' `_()`; no %-formatting here)."""
    catalogue = _catalogue()
    return string if catalogue is None else catalogue.ugettext(string)


def ngettext(singular: str, plural: str, n: int) -> str:
    catalogue = _catalogue()
    if catalogue is None:
        return singular if n == 1 else plural
    return catalogue.ungettext(singular, plural, n)


def translated(lazy) -> str:
    """A module-level lazy_gettext string (an enum's label) in the current language, cached."""
    key = (get_locale(), id(lazy))
    try:
        return _translated[key]
    except KeyError:
        text = _translated[key] = str(lazy)
        return text


def locale_code() -> str:
    """The current language code: "nb" or "en"."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


def country_names(locale: str | None = None) -> dict[str, str]:
    """ISO 3166 alpha-2 code → country name in the given (or current) language."""
    return _country_names(locale or locale_code())


@functools.cache
def _country_names(locale: str) -> dict[str, str]:
    # Babel builds its territory table anew on every access: cache it per language.
    loc = Locale.parse(locale)
    return {
        code: name
        for code, name in loc.territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


def country_choices(blank: bool = True) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name in the current language, for a select field."""
    names = sorted(country_names().items(), key=lambda item: item[1].casefold())
    return ([("", "—")] if blank else []) + names


def country_name(code: str | None) -> str:
    """A country's name in the current language ("NO" → "Norge" in nb)."""
    if not code:
        return ""
    return country_names().get(code.upper(), code)


def is_country(code: str | None) -> bool:
    """True for a known ISO 3166 alpha-2 code."""
    return bool(code) and str(code).upper() in _country_names("en")


def in_zone(value: dt.datetime, zone: str) -> dt.datetime:
    """An aware instant shown in an IANA zone."""
    return value.astimezone(ZoneInfo(zone))


# flask-babel formats a date in ~30 µs (context look-ups, Babel's pattern and locale data); a
# page shows dozens, and the same days come back on every page, so each (day, format,
# language) is formatted once per process. Times likewise; a datetime is its date and its
# time joined by the language's pattern, as Babel joins them. Formats naming a zone (long,
# full) go through flask-babel, as the time of day alone does not know its zone.
_CACHED_TIME_FORMATS = ("short", "medium")


@functools.lru_cache(maxsize=8192)
def _format_day(day: dt.date, fmt: str, locale: Locale) -> str:
    return babel_dates.format_date(day, fmt, locale=locale)


@functools.lru_cache(maxsize=8192)
def _format_clock(clock: dt.time, fmt: str, locale: Locale) -> str:
    return babel_dates.format_time(clock, fmt, locale=locale)


def _format_local(local: dt.datetime, fmt: str) -> str:
    """A naive local datetime in the current language, as flask-babel's format_datetime."""
    locale = get_locale()
    if fmt not in _CACHED_TIME_FORMATS or locale is None:
        return format_datetime(local, fmt, rebase=False)
    pattern = babel_dates.get_datetime_format(fmt, locale=locale).replace("'", "")
    clock = _format_clock(local.time(), fmt, locale)
    return pattern.replace("{0}", clock).replace("{1}", _format_day(local.date(), fmt, locale))


def _office_local(value: dt.datetime) -> dt.datetime:
    """An instant (naive means UTC, as in flask-babel) as naive office time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return in_zone(value, current_app.config["OFFICE_TIMEZONE"]).replace(tzinfo=None)


def register_template_helpers(app) -> None:
    """Filters: country, date, datetime, time, number; global: current language."""

    # Templates' _() and ngettext through the cached catalogue (see `gettext` above).
    app.jinja_env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)

    @app.template_filter("country")
    def _country(code):
        return country_name(code)

    @app.template_filter("date")
    def _date(value, fmt="medium"):
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = value.date() if value.tzinfo is None else _office_local(value).date()
        locale = get_locale()
        return format_date(value, fmt) if locale is None else _format_day(value, fmt, locale)

    @app.template_filter("datetime")
    def _datetime(value, zone=None, fmt="medium"):
        if value is None:
            return ""
        if zone:
            return _format_local(in_zone(value, zone).replace(tzinfo=None), fmt)
        return _format_local(_office_local(value), fmt)

    @app.template_filter("time")
    def _time(value, zone=None, fmt="short"):
        if value is None:
            return ""
        local = in_zone(value, zone).replace(tzinfo=None) if zone else _office_local(value)
        locale = get_locale()
        if fmt not in _CACHED_TIME_FORMATS or locale is None:
            return format_time(local, fmt, rebase=False)
        return _format_clock(local.time(), fmt, locale)

    @app.template_filter("number")
    def _number(value):
        return "" if value is None else format_decimal(value)

    @app.context_processor
    def _globals():
        return {"lang": locale_code(), "languages": app.config["LANGUAGES"]}
