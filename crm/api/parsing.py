"""Reading API input: the JSON body against a field schema, and list query arguments.

Types and ranges are checked here so that the services, which expect strings and numbers,
never see a list where a name belongs, and the database never sees a number or a date it
cannot store; the services then check the values and name the field.
"""

import datetime as dt
from collections.abc import Callable

from flask import request
from flask_babel import gettext as _

from crm.api.errors import ApiError
from crm.db import MAX_ID as MAX_INT  # whole numbers are 32-bit integers on PostgreSQL
from crm.timeutil import FIRST_DAY, LAST_DAY, in_bounds


class Invalid(Exception):
    """A value of the wrong type; the message is shown against the field.

    `fields` names problems inside a list of objects, by a suffix such as "[0].title".
    """

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


# A converter takes the JSON value and returns the value for the service, or raises Invalid.
Converter = Callable[[object], object]


def text(max_length: int | None = None) -> Converter:
    """A converter for a string of at most `max_length` characters, or null."""

    def convert(value):
        if value is None:
            return None
        if not isinstance(value, str):
            raise Invalid(_("Give text (a JSON string)."))
        if "\x00" in value:  # PostgreSQL refuses NUL in text
            raise Invalid(_("Remove the NUL character from the text."))
        if max_length is not None and len(value.strip()) > max_length:
            raise Invalid(_("Use at most %(count)s characters.", count=max_length))
        return value

    return convert


def column_text(column) -> Converter:
    """A text converter limited to a model column's length (a database error otherwise)."""
    return text(getattr(column.type, "length", None))


def strings(value):
    """A list of strings (no comma-separated string), or null."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        for item in value:
            text()(item)
        return value
    raise Invalid(_("Give a list of strings."))


def string_list(value):
    """A list of strings, or one comma-separated string, or null."""
    if isinstance(value, str):
        return text()(value)
    return strings(value)


def text_list(separator: str, max_length: int | None = None) -> Converter:
    """A list of strings (or one string) joined with `separator` for the service."""

    def convert(value):
        value = string_list(value)
        if isinstance(value, list):
            value = separator.join(value)
        return text(max_length)(value)

    return convert


def integer(value):
    """A whole number that the database can store, or null."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(_("Give a whole number."))
    if abs(value) > MAX_INT:
        raise Invalid(_("Give a smaller number."))
    return value


def boolean(value):
    """true or false."""
    if isinstance(value, bool):
        return value
    raise Invalid(_("Give true or false."))


def records(schema: dict[str, Converter], ignored: frozenset[str] = frozenset()) -> Converter:
    """A converter for a list of objects whose fields follow `schema` (`ignored` are dropped)."""

    def convert(value):
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise Invalid(_("Give a list of objects."))
        result, errors = [], {}
        for i, item in enumerate(value):
            clean = {}
            for key, raw in item.items():
                if key in ignored:
                    continue
                if key not in schema:
                    errors[f"[{i}].{key}"] = _("Unknown field.")
                    continue
                try:
                    clean[key] = schema[key](raw)
                except Invalid as error:
                    errors[f"[{i}].{key}"] = error.message
            result.append(clean)
        if errors:
            raise Invalid(_("Some items are not valid."), fields=errors)
        return result

    return convert


def instant(value):
    """An ISO 8601 date and time with an offset, as an aware datetime, or null."""
    if value is None:
        return None
    parsed = _parse_datetime(value)
    if parsed is None or parsed.tzinfo is None:
        raise Invalid(_("Give a date and time with its offset, such as 2026-05-17T10:00:00+02:00."))
    if not in_bounds(parsed.date()):
        raise Invalid(_out_of_range())
    return parsed


def date(value):
    """An ISO 8601 date (YYYY-MM-DD), or null."""
    if value is None:
        return None
    day = _parse_date(value) if isinstance(value, str) else None
    if day is None:
        raise Invalid(_("Give a date such as 2026-05-17."))
    if not in_bounds(day):
        raise Invalid(_out_of_range())
    return day


def _out_of_range() -> str:
    return _(
        "Give a date between %(first)s and %(last)s.",
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _parse_datetime(value) -> dt.datetime | None:
    if not isinstance(value, str) or "T" not in value.upper():
        return None
    try:
        return dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def read_body() -> dict:
    """The request's JSON object; 400 if the body is not JSON or not an object."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("The body must be a JSON object."))
    return data


def parse_body(schema: dict[str, Converter], *, read_only: frozenset[str] = frozenset()) -> dict:
    """Check the body's fields against `schema`; 422 naming every unknown or ill-typed field."""
    data = read_body()
    clean: dict = {}
    errors: dict[str, str] = {}
    for key, value in data.items():
        if key in read_only:
            errors[key] = _("This field cannot be changed.")
        elif key not in schema:
            errors[key] = _("Unknown field.")
        else:
            try:
                clean[key] = schema[key](value)
            except Invalid as error:
                if error.fields:
                    errors.update({key + sub: message for sub, message in error.fields.items()})
                else:
                    errors[key] = error.message
    if errors:
        raise ApiError(422, _("Some fields are not valid."), fields=errors)
    return clean


def _bad_arg(name: str, message: str) -> ApiError:
    return ApiError(422, _("Some query arguments are not valid."), fields={name: message})


def arg_int(name: str, default: int, *, minimum: int = 1, maximum: int = MAX_INT) -> int:
    """A whole-number query argument in [minimum, maximum]; 422 if it is something else."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise _bad_arg(
            name, _("Give a whole number from %(min)d to %(max)d.", min=minimum, max=maximum)
        )
    return value


def pagination(max_per_page: int, default: int = 25) -> tuple[int, int]:
    """`page` and `per_page` from the query; per_page is capped at `max_per_page`."""
    per_page = min(arg_int("per_page", default), max_per_page)
    # the row offset, (page - 1) * per_page, must fit the database's integers too
    page = arg_int("page", 1, maximum=MAX_INT // per_page)
    return page, per_page


def arg_choice(name: str, choices) -> str:
    """A query argument that must be one of an enum's values (or absent)."""
    raw = request.args.get(name, "").strip()
    values = [member.value for member in choices]
    if raw and raw not in values:
        raise _bad_arg(name, _("Use one of: %(values)s.", values=", ".join(values)))
    return raw


def arg_text(name: str) -> str:
    """A free-text query argument (a search, a code); 422 if it holds a NUL character."""
    raw = request.args.get(name, "")
    if "\x00" in raw:
        raise _bad_arg(name, _("Remove the NUL character from the text."))
    return raw


def arg_date(name: str) -> dt.date | None:
    """A query argument given as an ISO date (YYYY-MM-DD), or None; 422 if malformed."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    day = _parse_date(raw)
    if day is None:
        raise _bad_arg(name, _("Give a date such as 2026-05-17."))
    if not in_bounds(day):
        raise _bad_arg(name, _out_of_range())
    return day


def arg_date_or_instant(name: str, zone) -> dt.datetime | None:
    """A query argument given as a date or a date-time (as FullCalendar sends them).

    A date means midnight in `zone`; a date-time without an offset is read in `zone` too.
    """
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    # "+" in an offset arrives as a space when the client did not encode it.
    raw = raw.replace(" ", "+") if "T" in raw.upper() else raw
    parsed = _parse_datetime(raw)
    if parsed is None:
        day = _parse_date(raw)
        if day is None:
            raise _bad_arg(
                name, _("Give a date (2026-05-17) or a date and time (2026-05-17T10:00:00Z).")
            )
        parsed = dt.datetime.combine(day, dt.time(0))
    if not in_bounds(parsed.date()):
        raise _bad_arg(name, _out_of_range())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed
