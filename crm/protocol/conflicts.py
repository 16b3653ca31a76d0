"""Conflict detection for programme items: pure functions, no database.

Times are compared as UTC instants on half-open intervals [start, end): an item that ends at
10:00 and one that starts at 10:00 do not clash, while a one-minute overlap does. Comparing
instants (not local wall times) keeps items across midnight and the DST change right.
"""

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

# An item without an end is taken to last this long, so two items starting together clash.
DEFAULT_DURATION = dt.timedelta(hours=1)

HOST, PLACE, INTERPRETER, OUTSIDE = "host", "place", "interpreter", "outside"

_SPLIT = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class Slot:
    """What conflict detection needs to know about one programme item."""

    item_id: int
    event_id: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    place: str = ""
    hosts: tuple[str, ...] = ()
    interpreter: str = ""
    event_title: str = ""

    @property
    def start(self) -> dt.datetime:
        """The start as a UTC instant (aware datetimes in one zone compare by wall time)."""
        return self.starts_at.astimezone(dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The (exclusive) end as a UTC instant; an item without an end lasts DEFAULT_DURATION."""
        return self.ends_at.astimezone(dt.UTC) if self.ends_at else self.start + DEFAULT_DURATION


@dataclass(frozen=True)
class Conflict:
    """Two items that need one host, place or interpreter at once (or one item off the visit)."""

    kind: str
    resource: str
    first: Slot
    second: Slot | None = None
    item_ids: frozenset[int] = field(default=frozenset())


def key(text: str) -> str:
    """A comparison key for a name or place: case-folded, whitespace collapsed."""
    return " ".join((text or "").casefold().split())


def split_names(*texts: str) -> tuple[str, ...]:
    """Person names from free text separated by commas, semicolons or new lines."""
    names: list[str] = []
    seen: set[str] = set()
    for text in texts:
        for part in _SPLIT.split(text or ""):
            name = " ".join(part.split())
            if name and key(name) not in seen:
                seen.add(key(name))
                names.append(name)
    return tuple(names)


def overlaps(
    a_start: dt.datetime, a_end: dt.datetime, b_start: dt.datetime, b_end: dt.datetime
) -> bool:
    """True if [a_start, a_end) and [b_start, b_end) share an instant (aware datetimes)."""
    return a_start.astimezone(dt.UTC) < b_end.astimezone(dt.UTC) and b_start.astimezone(
        dt.UTC
    ) < a_end.astimezone(dt.UTC)


def _resources(slot: Slot) -> list[tuple[str, str, str]]:
    """(kind, comparison key, display name) of everything the slot books."""
    found = [(HOST, key(name), name) for name in slot.hosts]
    if key(slot.place):
        found.append((PLACE, key(slot.place), slot.place.strip()))
    if key(slot.interpreter):
        found.append((INTERPRETER, key(slot.interpreter), slot.interpreter.strip()))
    return found


def find_conflicts(slots: list[Slot]) -> list[Conflict]:
    """Every pair of slots that books one host, place or interpreter at overlapping times."""
    booked: dict[tuple[str, str], list[tuple[Slot, str]]] = defaultdict(list)
    for slot in slots:
        for kind, resource_key, name in _resources(slot):
            booked[(kind, resource_key)].append((slot, name))
    conflicts = []
    for (kind, _resource_key), entries in booked.items():
        entries.sort(key=lambda entry: (entry[0].start, entry[0].item_id))
        active: list[tuple[Slot, str]] = []
        for slot, name in entries:
            # Sweep: keep only earlier slots still running when this one starts.
            active = [(other, n) for other, n in active if other.end > slot.start]
            for other, other_name in active:
                if other.item_id != slot.item_id and overlaps(
                    other.start, other.end, slot.start, slot.end
                ):
                    conflicts.append(
                        Conflict(
                            kind, other_name, other, slot, frozenset({other.item_id, slot.item_id})
                        )
                    )
            active.append((slot, name))
    conflicts.sort(key=lambda c: (c.first.start, c.kind, key(c.resource)))
    return conflicts


def outside_visit(slot: Slot, first_day: dt.date, last_day: dt.date, zone: str) -> bool:
    """True if the item starts or ends on a local date outside the visit's first..last day."""
    tz = ZoneInfo(zone)
    start_day = slot.start.astimezone(tz).date()
    # The end is exclusive: an item ending at midnight belongs to the day before.
    end_day = (slot.end - dt.timedelta(microseconds=1)).astimezone(tz).date()
    return start_day < first_day or end_day > last_day


def visit_conflicts(
    slots: list[Slot], first_day: dt.date, last_day: dt.date, zone: str
) -> list[Conflict]:
    """The slots that fall outside the visit's dates, as conflicts of kind OUTSIDE."""
    return [
        Conflict(OUTSIDE, "", slot, None, frozenset({slot.item_id}))
        for slot in slots
        if outside_visit(slot, first_day, last_day, zone)
    ]
