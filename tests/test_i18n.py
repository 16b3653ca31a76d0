"""Languages: every visible string is marked and translated; the switch works and is remembered."""

import datetime as dt
import functools
import re
from collections import defaultdict
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import flask_babel
import pytest
from babel import dates as babel_dates
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment

from config import BASE_DIR

TEMPLATES = BASE_DIR / "templates"
NB_PO = BASE_DIR / "translations" / "nb" / "LC_MESSAGES" / "messages.po"

# Visible text that is the same in every language: product names, language names shown in
# their own language (the switch); punctuation has no letters and needs no entry.
ALLOWED_TEXT = ("Vertskap", "English", "Norsk (bokmål)", "Outlook", "Thunderbird")
CHECKED_ATTRIBUTES = {"alt", "title", "placeholder", "aria-label"}
LETTER = re.compile(r"[^\W\d_]")
# A Jinja string literal that reads like English prose ("Save", "No name yet") rather than
# a CSS class, an endpoint, a path or a type name ("btn btn-primary", "main.home", "SelectField").
PROSE_LITERAL = re.compile(r"^[A-Z][a-z]+(?:$|[\s.,:;!?])")
GETTEXT_NAMES = {"_", "gettext", "ngettext", "pgettext", "npgettext", "_l"}


def template_files():
    """Every page, partial and mail template."""
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in {".html", ".txt"})


class _TextCollector(HTMLParser):
    """Collects text nodes and checked attribute values that contain letters."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style"}:
            self._skip += 1
        for name, value in attrs:
            if name in CHECKED_ATTRIBUTES and value:
                self._check(f'{name}="{value}"', value)

    def handle_endtag(self, tag):
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self._check(data.strip(), data)

    def _check(self, shown, text):
        for allowed in ALLOWED_TEXT:
            text = text.replace(allowed, "")
        if LETTER.search(text):
            self.found.append(shown)


def unmarked_text(source: str, env: Environment) -> list[str]:
    """Text a template shows that is not inside a `_()` call."""
    markup: list[str] = []
    literals: list[str] = []
    calls: list[bool] = []  # open parentheses: True when the call is a gettext
    previous = None
    for _lineno, kind, value in env.lex(source):
        if kind == "data":
            markup.append(value)
            continue
        # a tag or an expression stands for a value: a neutral placeholder keeps the HTML valid
        if kind in {"variable_begin", "block_begin"}:
            markup.append(" ")
        if kind == "operator" and value == "(":
            calls.append(previous is not None and previous[1] in GETTEXT_NAMES)
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "string" and not any(calls):
            text = value[1:-1]  # lex() gives the literal as written, quotes included
            if PROSE_LITERAL.match(text) and text not in ALLOWED_TEXT:
                literals.append(f"string literal {text!r}")
        if kind not in {"whitespace"}:
            previous = (kind, value)
    collector = _TextCollector()
    collector.feed("".join(markup))
    collector.close()
    return collector.found + literals


@pytest.fixture(autouse=True)
def _fresh_locale_per_request(request):
    """Every test here chooses the language anew for each request (see `fresh_locale`)."""
    if "app" in request.fixturenames:
        request.getfixturevalue("fresh_locale")


# Lexing needs only the delimiters and the extensions' tags, not the app.
LEXER = Environment(autoescape=True, extensions=["jinja2.ext.i18n", "jinja2.ext.do"])


@pytest.mark.parametrize("path", template_files(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_template_text_is_marked_for_translation(path):
    found = unmarked_text(path.read_text(encoding="utf-8"), LEXER)
    assert not found, f"{path.relative_to(BASE_DIR)} shows text not wrapped in _(): {found}"


def test_checker_finds_unmarked_text():
    source = (
        '<h1>{{ _("Fine") }}</h1><p>Not marked</p><img alt="A photo" src="x">'
        '{{ submit("Save") }}{{ field(f, class_="col-md-6") }}'
        "<footer>· Vertskap — {{ x }}</footer>"
    )
    assert unmarked_text(source, LEXER) == [
        "Not marked",
        'alt="A photo"',
        "string literal 'Save'",
    ]


@functools.cache
def extracted_messages() -> dict[str, set[str]]:
    """Every msgid in crm/ and templates/, as `pybabel extract -F babel.cfg -k _l` finds them."""
    with (BASE_DIR / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found: dict[str, set[str]] = defaultdict(set)
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        BASE_DIR,
        method_map,
        options_map,
        keywords=keywords,
        directory_filter=lambda d: not re.search(r"(^|/)(\.|_|tests|bench|node_modules)", d),
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found[msgid].add(filename)
    return found


@pytest.fixture(scope="module")
def nb_catalog():
    """The Norwegian Bokmål catalogue as committed."""
    with NB_PO.open("rb") as fh:
        return read_po(fh, locale="nb")


def test_every_message_has_a_norwegian_translation(nb_catalog):
    messages = extracted_messages()
    assert len(messages) > 100  # the extraction itself worked
    translated = {}
    for message in nb_catalog:
        if not message.id or message.fuzzy:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(s.strip() for s in strings):
            for msgid in ids:
                translated[msgid] = strings
    missing = sorted(
        f"{msgid!r} ({', '.join(sorted(files))})"
        for msgid, files in messages.items()
        if msgid not in translated
    )
    assert not missing, (
        "Untranslated in nb (run `make translations` and fill translations/nb/"
        "LC_MESSAGES/messages.po):\n" + "\n".join(missing)
    )


def test_norwegian_translations_keep_the_placeholders(nb_catalog):
    problems = [f"{message.id!r}: {errors}" for message, errors in nb_catalog.check() if message.id]
    assert not problems, "\n".join(problems)


class _AnyValue(dict):
    def __missing__(self, key):
        return 0


def test_template_messages_are_valid_format_strings(nb_catalog):
    # Jinja's new-style gettext always applies `%`, so a bare "%" breaks the page: write "%%".
    broken = []
    for msgid, files in extracted_messages().items():
        if not any(f.startswith("templates") for f in files):
            continue
        translated = nb_catalog.get(msgid).string if nb_catalog.get(msgid) else ""
        texts = [
            *(msgid if isinstance(msgid, tuple) else [msgid]),  # a plural: each of its forms
            *(translated if isinstance(translated, tuple) else [translated]),
        ]
        for text in texts:
            try:
                _ = text % _AnyValue()
            except (ValueError, TypeError) as error:
                broken.append(f"{text!r}: {error}")
    assert not broken, "\n".join(broken)


def html_lang(text: str) -> str:
    """The page's <html lang> value."""
    match = re.search(r'<html lang="([^"]+)"', text)
    assert match, "no <html lang>"
    return match.group(1)


def test_default_language_is_norwegian(client):
    page = client.get("/login")
    assert html_lang(page.text) == "nb"
    assert "Logg inn" in page.text
    assert "Hopp til hovedinnholdet" in page.text


def test_accept_language_picks_english_when_nothing_is_chosen(client):
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,nb;q=0.5"})
    assert html_lang(page.text) == "en"
    assert "Skip to main content" in page.text
    assert "Logg inn" not in page.text


def test_switching_language_changes_the_whole_page_and_is_saved_for_the_user(client, login_as, db):
    user = login_as("admin")
    home_nb = client.get("/")
    assert html_lang(home_nb.text) == "nb"
    assert "Organisasjoner" in home_nb.text and "Brukere" in home_nb.text
    response = client.post("/language", data={"lang": "en", "next": "/organisations/"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organisations/")
    page = client.get("/organisations/")
    assert html_lang(page.text) == "en"
    for label in ("Home", "Organisations", "Users", "Log out", "Accessibility statement"):
        assert label in page.text
    for label in ("Forside", "Organisasjoner", "Brukere", "Logg ut"):
        assert label not in page.text
    db.session.refresh(user)
    assert user.locale == "en"


def test_saved_choice_wins_over_the_browser_in_a_new_session(app, make_user, db):
    user = make_user(role="viewer", locale="en")
    fresh = app.test_client()
    fresh.post("/login", data={"email": user.email, "password": "correct-horse-battery"})
    page = fresh.get("/", headers={"Accept-Language": "nb"})
    assert html_lang(page.text) == "en"
    assert "Log out" in page.text


def test_unknown_language_is_ignored(client, login_as, db):
    user = login_as("viewer")
    client.post("/language", data={"lang": "xx"})
    db.session.refresh(user)
    assert user.locale is None
    assert html_lang(client.get("/").text) == "nb"


def test_choice_made_before_login_is_kept_at_login(app, make_user, db):
    user = make_user(role="viewer")
    fresh = app.test_client()
    fresh.post("/language", data={"lang": "en", "next": "/login"})
    assert html_lang(fresh.get("/login").text) == "en"
    fresh.post("/login", data={"email": user.email, "password": "correct-horse-battery"})
    db.session.refresh(user)
    assert user.locale == "en"


def test_wtforms_messages_are_norwegian(client):
    page = client.post("/login", data={"email": "", "password": ""})
    assert "Dette feltet er påkrevd." in page.text
    english = client.post(
        "/login", data={"email": "", "password": ""}, headers={"Accept-Language": "en"}
    )
    assert "This field is required." in english.text


def render_in(app, lang: str, source: str, **values) -> str:
    """Render a template string in a request for the given language."""
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        flask_babel.refresh()
        return app.jinja_env.from_string(source).render(**values)


@pytest.mark.parametrize(
    "lang, date, number, country, time",
    [
        ("nb", "17. mai 2026", "1\xa0234\xa0567,5", "Norge", "10:00"),
        ("en", "May 17, 2026", "1,234,567.5", "Norway", "10:00\u202fAM"),
    ],
)
def test_dates_numbers_and_countries_follow_the_language(app, lang, date, number, country, time):
    day = dt.date(2026, 5, 17)
    # 08:00 UTC on the day Europe/Oslo is on summer time (UTC+2)
    instant = dt.datetime(2026, 5, 17, 8, 0, tzinfo=dt.UTC)
    out = render_in(
        app,
        lang,
        "{{ day|date }}|{{ n|number }}|{{ 'NO'|country }}|{{ at|time('Europe/Oslo') }}",
        day=day,
        n=1234567.5,
        at=instant,
    )
    assert out == f"{date}|{number}|{country}|{time}"


def test_country_choices_are_named_and_sorted_in_the_language(app):
    from crm.i18n import country_choices

    with app.test_request_context("/", headers={"Accept-Language": "nb"}):
        flask_babel.refresh()
        nb = dict(country_choices())
        nb_order = [name for _code, name in country_choices(blank=False)]
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        flask_babel.refresh()
        en = dict(country_choices())
    assert (nb["DE"], en["DE"]) == ("Tyskland", "Germany")
    assert nb_order == sorted(nb_order, key=str.casefold)


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_date_filters_say_what_flask_babel_says(app, lang):
    """The filters format each day and time of day once; the words must stay Babel's: in the
    office's zone or the event's (named right in long and full formats, not "UTC"), for
    dates, naive and aware datetimes, every format."""
    instants = [
        dt.datetime(2026, 3, 29, 0, 59, 59, tzinfo=dt.UTC),  # the night summer time starts
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),  # and ends
        dt.datetime(2026, 12, 31, 23, 15, tzinfo=dt.UTC),  # a new year in Oslo, not in UTC
        dt.datetime(2026, 5, 17, 8, 0),  # naive: UTC
    ]
    formats = ["short", "medium", "long", "full", "d. MMM y"]  # times only in the first four
    source = (
        "{% for at in instants %}{% for fmt in formats %}{% set clock = ' ' not in fmt %}"
        "{{ at|date(fmt) }}|{{ at|datetime(None, fmt) }}|"
        "{% if clock %}{{ at|time(None, fmt) }}|{% endif %}"
        "{% if at.tzinfo %}{{ at|datetime('America/New_York', fmt) }}|"
        "{% if clock %}{{ at|time('Asia/Tokyo', fmt) }}|{% endif %}{% endif %}"
        "{{ at.date()|date(fmt) }}\n"
        "{% endfor %}{% endfor %}"
    )
    twice = [render_in(app, lang, source, instants=instants, formats=formats) for _ in "ab"]

    expected = []
    with app.test_request_context("/", headers={"Accept-Language": lang}):
        flask_babel.refresh()
        for at in instants:
            for fmt in formats:
                clock = " " not in fmt
                line = [
                    flask_babel.format_date(at if at.tzinfo else at.date(), fmt),
                    flask_babel.format_datetime(at, fmt),
                    *([flask_babel.format_time(at, fmt)] if clock else []),
                ]
                if at.tzinfo:  # in the event's zone, named as that zone (long, full)
                    new_york, tokyo = ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo")
                    line.append(babel_dates.format_datetime(at, fmt, tzinfo=new_york, locale=lang))
                    if clock:
                        line.append(babel_dates.format_time(at, fmt, tzinfo=tokyo, locale=lang))
                expected.append("|".join([*line, flask_babel.format_date(at.date(), fmt)]))
    assert twice[0] == twice[1] == "\n".join(expected) + "\n"


def test_country_options_are_named_in_the_language_with_the_choice_selected(app):
    nb = render_in(app, "nb", "{{ country_options('DE') }}")
    en = render_in(app, "en", "{{ country_options() }}")
    assert '<option value="DE" selected>Tyskland</option>' in nb
    assert nb.count("selected") == 1
    assert '<option value="DE">Germany</option>' in en and "selected" not in en
    assert en.count("<option") == len(__import__("crm.i18n").i18n.country_names("en"))
    # What the address bar says is never markup: an odd value selects nothing.
    odd = render_in(app, "en", "{{ country_options(code) }}", code='DE"><script>')
    assert "<script>" not in odd and "selected" not in odd


def test_wtforms_messages_missing_from_wtforms_catalogue_come_from_ours(app):
    from werkzeug.datastructures import MultiDict
    from wtforms import FieldList, FormField, TimeField

    from crm.forms import SubForm

    class Row(SubForm):
        at = TimeField("At")

    class PageForm(SubForm):
        at = TimeField("At")
        rows = FieldList(FormField(Row), min_entries=1)

    data = MultiDict({"at": "nonsense", "rows-0-at": "25:99"})
    with app.test_request_context("/", headers={"Accept-Language": "nb"}):
        flask_babel.refresh()
        form = PageForm(formdata=data)
        form.validate()
    # "Not a valid time value." is not in WTForms' own nb catalogue; a row is a form of its own
    assert form.at.errors == ["Ikke et gyldig klokkeslett."]
    assert form.rows[0].at.errors == ["Ikke et gyldig klokkeslett."]


def test_flask_forms_use_the_fallback_too(client):
    # EventForm's start time is a TimeField on a FlaskForm
    from flask_wtf import FlaskForm
    from werkzeug.datastructures import MultiDict
    from wtforms import TimeField

    class TimeForm(FlaskForm):
        at = TimeField("At")

    app = client.application
    with app.test_request_context("/", method="POST", headers={"Accept-Language": "nb"}):
        flask_babel.refresh()
        form = TimeForm(formdata=MultiDict({"at": "x"}), meta={"csrf": False})
        form.validate()
    assert form.at.errors == ["Ikke et gyldig klokkeslett."]
