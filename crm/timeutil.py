"""The dates the application accepts from its users and from the files they import.

Python's dates stop at years 1 and 9999: a day near either end overflows once it is turned
into an instant in some zone, or a day is added for an exclusive end. Nobody hosts a visit
outside these years, and within them every such sum stays a date.
"""

import datetime as dt

from flask_babel import gettext as _

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2999, 12, 31)


def in_bounds(day: dt.date) -> bool:
    """Whether the day (or the day of a datetime) lies between FIRST_DAY and LAST_DAY."""
    if isinstance(day, dt.datetime):
        day = day.date()
    return FIRST_DAY <= day <= LAST_DAY


def out_of_bounds_message() -> str:
    """What a user is told about a date outside the bounds."""
    return _(
        "Use a date between %(first)s and %(last)s.",
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
    )
