"""Language and locale: which language a request gets, country names, formatting helpers."""

import datetime as dt
import functools
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale
from babel import dates as babel_dates
from flask import current_app, g, has_request_context, request, session
from flask_babel import format_decimal, get_locale, get_translations
from flask_login import current_user
from markupsafe import Markup

# Territory codes Babel knows that are not countries (regions, test and grouping codes).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


def select_locale() -> Locale:
    """The user's saved choice, else the session's, else the browser's Accept-Language."""
    return app_locale(_chosen_language())


def _chosen_language() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        # CLI, scheduler jobs: the default language (mail uses force_locale per recipient)
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages, default=languages[0])


@functools.cache
def app_locale(code: str) -> Locale:
    """The one Locale object of a language for the life of the process.

    flask-babel would parse a new one for every request. The caches below are keyed by
    Locale, and a key that is the very object stored is found without comparing Locales
    (Babel's `__eq__`, a Python loop over five attributes, for every string and date).
    """
    return Locale.parse(code)


def select_timezone() -> str:
    """Pages show times in the office's zone unless a view formats in an event's zone."""
    return current_app.config["OFFICE_TIMEZONE"]


def current_locale() -> Locale | None:
    """flask-babel's `get_locale()`, read where flask-babel keeps it once chosen.

    `get_locale()` goes through `flask.g` five times a call (~6 µs), and a page asks a few
    hundred times (every string, label and date). flask-babel keeps the request's locale,
    and the one `force_locale` sets for a while, on `g._flask_babel.babel_locale`: read from
    there it is one look-up. Until it is chosen, and outside a request, `get_locale()` decides.
    """
    try:
        locale = g._flask_babel.babel_locale
    except (AttributeError, RuntimeError):  # not chosen yet; or no app context at all
        return get_locale()
    return locale if locale is not None else get_locale()


# flask-babel finds the catalogue anew for every string (a dozen context look-ups, ~6 µs);
# a page translates a few hundred strings and labels. The catalogue of a language never
# changes while the app runs, so it is kept here per Locale (force_locale gives another).
_catalogues: dict = {}
_translated: dict = {}


def _catalogue():
    locale = current_locale()
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
    key = (current_locale(), id(lazy))
    try:
        return _translated[key]
    except KeyError:
        text = _translated[key] = str(lazy)
        return text


def locale_code() -> str:
    """The current language code: "nb" or "en"."""
    return str(current_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])


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
    return ([("", "—")] if blank else []) + list(_sorted_countries(locale_code()))


@functools.cache
def _sorted_countries(locale: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(_country_names(locale).items(), key=lambda item: item[1].casefold()))


def country_options(selected: str | None = None) -> Markup:
    """The <option>s of every country in the current language, `selected` chosen.

    List pages filter by country: 250 options a page, made once per language here instead
    of through the template loop on every request.
    """
    options = _country_options(locale_code())
    if not selected:
        return options
    option = Markup('<option value="{}">').format(selected)
    return options.replace(option, Markup('<option value="{}" selected>').format(selected), 1)


@functools.cache
def _country_options(locale: str) -> Markup:
    option = Markup('<option value="{}">{}</option>')
    return Markup("").join(option.format(code, name) for code, name in _sorted_countries(locale))


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
# language) is formatted once per process. Times of day likewise, and a datetime is its date
# and its time joined by the language's pattern, as Babel joins them. The formats that name
# the zone (long, full) are formatted whole, from the instant and its zone.
_CACHED_TIME_FORMATS = ("short", "medium")


@functools.lru_cache(maxsize=8192)
def _format_day(day: dt.date, fmt: str, locale: Locale) -> str:
    return babel_dates.format_date(day, fmt, locale=locale)


@functools.lru_cache(maxsize=8192)
def _format_clock(clock: dt.time, fmt: str, locale: Locale) -> str:
    return babel_dates.format_time(clock, fmt, locale=locale)


@functools.lru_cache(maxsize=64)
def _joined(fmt: str, locale: Locale) -> str:
    """How the language joins a date ({1}) and a time ({0}) in this format."""
    return babel_dates.get_datetime_format(fmt, locale=locale).replace("'", "")


def _zone(zone: str | None) -> ZoneInfo:
    """The given IANA zone, else the office's."""
    return ZoneInfo(zone or current_app.config["OFFICE_TIMEZONE"])


def _aware(value: dt.datetime) -> dt.datetime:
    """An instant; naive means UTC, as in flask-babel."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _display_locale() -> Locale:
    """The current language, or the default one outside a request."""
    return current_locale() or app_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def format_instant(
    value: dt.datetime, zone: str | None = None, fmt: str = "medium", clock: str | None = None
) -> str:
    """Date and time of an instant in a zone (default: the office's), in the current language.

    `clock` is the time's length when it differs from the date's: "short" gives hours and
    minutes beside a medium date (CLDR's medium time adds seconds).
    """
    value, tz, locale = _aware(value), _zone(zone), _display_locale()
    if fmt not in _CACHED_TIME_FORMATS or (clock or fmt) not in _CACHED_TIME_FORMATS:
        return babel_dates.format_datetime(value, fmt, tzinfo=tz, locale=locale)
    local = value.astimezone(tz)
    return (
        _joined(fmt, locale)
        .replace("{0}", _format_clock(local.time(), clock or fmt, locale))
        .replace("{1}", _format_day(local.date(), fmt, locale))
    )


def format_clock(value: dt.datetime, zone: str | None = None, fmt: str = "short") -> str:
    """The time of day of an instant in a zone (default: the office's), in the current language."""
    value, tz, locale = _aware(value), _zone(zone), _display_locale()
    if fmt not in _CACHED_TIME_FORMATS:
        return babel_dates.format_time(value, fmt, tzinfo=tz, locale=locale)
    return _format_clock(value.astimezone(tz).time(), fmt, locale)


def format_day(value: dt.date | dt.datetime, fmt: str = "medium") -> str:
    """A date (or an aware instant's date in the office's zone) in the current language."""
    if isinstance(value, dt.datetime):
        value = value.date() if value.tzinfo is None else value.astimezone(_zone(None)).date()
    return _format_day(value, fmt, _display_locale())


def register_template_helpers(app) -> None:
    """Filters: country, date, datetime, time, number; global: current language."""

    # Templates' _() and ngettext through the cached catalogue (see `gettext` above).
    app.jinja_env.install_gettext_callables(gettext=gettext, ngettext=ngettext, newstyle=True)

    @app.template_filter("country")
    def _country(code):
        return country_name(code)

    @app.template_filter("date")
    def _date(value, fmt="medium"):
        return "" if value is None else format_day(value, fmt)

    @app.template_filter("datetime")
    def _datetime(value, zone=None, fmt="medium", clock=None):
        return "" if value is None else format_instant(value, zone, fmt, clock)

    @app.template_filter("time")
    def _time(value, zone=None, fmt="short"):
        return "" if value is None else format_clock(value, zone, fmt)

    @app.template_filter("number")
    def _number(value):
        return "" if value is None else format_decimal(value)

    @app.template_filter("kroner")
    def _kroner(ore):
        """An amount kept in øre, in kroner with two decimals as the language writes them."""
        return "" if ore is None else format_decimal(Decimal(ore) / 100, format="#,##0.00")

    app.add_template_global(country_options)

    @app.context_processor
    def _globals():
        return {"lang": locale_code(), "languages": app.config["LANGUAGES"]}
