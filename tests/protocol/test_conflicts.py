"""Conflict detection as pure functions: half-open intervals, midnight, DST, outside the visit."""

import datetime as dt
from zoneinfo import ZoneInfo

from crm.protocol import conflicts as cf

OSLO = ZoneInfo("Europe/Oslo")


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), OSLO)


DAY = dt.date(2027, 5, 17)


def slot(item_id, start, end=None, *, event_id=1, place="", hosts=(), interpreter=""):
    return cf.Slot(
        item_id=item_id,
        event_id=event_id,
        title=f"Item {item_id}",
        starts_at=start,
        ends_at=end,
        place=place,
        hosts=tuple(hosts),
        interpreter=interpreter,
    )


def test_back_to_back_items_at_the_minute_boundary_do_not_conflict():
    a = slot(1, at(DAY, 9), at(DAY, 10), place="Rådhuset", hosts=["Rita Ottervik"])
    b = slot(2, at(DAY, 10), at(DAY, 11), place="Rådhuset", hosts=["Rita Ottervik"])
    assert cf.find_conflicts([a, b]) == []


def test_one_minute_overlap_conflicts_for_host_and_place():
    a = slot(1, at(DAY, 9), at(DAY, 10, 1), place="Rådhuset", hosts=["Rita Ottervik"])
    b = slot(2, at(DAY, 10), at(DAY, 11), place="rådhuset ", hosts=["rita  ottervik"])
    found = cf.find_conflicts([a, b])
    assert {c.kind for c in found} == {cf.HOST, cf.PLACE}
    assert all(c.item_ids == {1, 2} for c in found)


def test_same_interpreter_booked_twice_at_once_across_events():
    a = slot(1, at(DAY, 9), at(DAY, 12), interpreter="Li Wei", event_id=1)
    b = slot(2, at(DAY, 11), at(DAY, 13), interpreter="li wei", event_id=2)
    c = slot(3, at(DAY, 11), at(DAY, 13), interpreter="Someone Else", event_id=3)
    found = cf.find_conflicts([a, b, c])
    assert [(x.kind, x.item_ids) for x in found] == [(cf.INTERPRETER, {1, 2})]


def test_different_people_and_places_do_not_conflict():
    a = slot(1, at(DAY, 9), at(DAY, 12), place="Rådhuset", hosts=["A"])
    b = slot(2, at(DAY, 9), at(DAY, 12), place="NTNU", hosts=["B"])
    assert cf.find_conflicts([a, b]) == []


def test_items_across_midnight_conflict_with_the_next_morning():
    evening = slot(1, at(DAY, 22), at(DAY + dt.timedelta(days=1), 1), hosts=["Ola"])
    night = slot(
        2, at(DAY + dt.timedelta(days=1), 0, 30), at(DAY + dt.timedelta(days=1), 2), hosts=["Ola"]
    )
    morning = slot(
        3, at(DAY + dt.timedelta(days=1), 1), at(DAY + dt.timedelta(days=1), 3), hosts=["Ola"]
    )
    found = cf.find_conflicts([evening, night, morning])
    assert sorted(sorted(c.item_ids) for c in found) == [[1, 2], [2, 3]]


def test_dst_change_compares_utc_instants():
    # 2027-03-28: Oslo jumps from 02:00 to 03:00. 01:30–03:30 local is one real hour.
    day = dt.date(2027, 3, 28)
    a = slot(1, at(day, 1, 30), at(day, 3, 30), place="Hall")
    # 02:30 UTC is 04:30 local: after a's end (01:30 UTC) in real time.
    b = slot(
        2,
        dt.datetime(2027, 3, 28, 1, 30, tzinfo=dt.UTC),
        dt.datetime(2027, 3, 28, 2, 30, tzinfo=dt.UTC),
        place="Hall",
    )
    assert cf.find_conflicts([a, b]) == []
    c = slot(
        3,
        dt.datetime(2027, 3, 28, 1, 29, tzinfo=dt.UTC),
        dt.datetime(2027, 3, 28, 2, 0, tzinfo=dt.UTC),
        place="Hall",
    )
    assert [x.item_ids for x in cf.find_conflicts([a, c])] == [{1, 3}]


def test_autumn_dst_repeated_hour_conflicts_in_real_time():
    # 2027-10-31: 02:00–03:00 local happens twice; fold=1 is the second time (UTC+1).
    day = dt.date(2027, 10, 31)
    first = slot(1, at(day, 2, 0), at(day, 2, 59), hosts=["Kari"])
    second = slot(
        2,
        dt.datetime(2027, 10, 31, 2, 0, tzinfo=OSLO, fold=1),
        dt.datetime(2027, 10, 31, 2, 30, tzinfo=OSLO, fold=1),
        hosts=["Kari"],
    )
    assert cf.find_conflicts([first, second]) == []  # same wall time, an hour apart
    assert cf.overlaps(first.starts_at, first.end, at(day, 2, 58), at(day, 3, 30))


def test_item_without_end_lasts_default_duration():
    a = slot(1, at(DAY, 9), None, hosts=["Kari"])
    b = slot(2, at(DAY, 9, 59), at(DAY, 10, 30), hosts=["Kari"])
    c = slot(3, at(DAY, 10), at(DAY, 10, 30), hosts=["Kari"], place="x")
    assert {frozenset(x.item_ids) for x in cf.find_conflicts([a, b])} == {frozenset({1, 2})}
    assert cf.find_conflicts([a, c]) == []


def test_split_names_on_commas_semicolons_and_lines():
    assert cf.split_names("Rita Ottervik, Ola Nordmann; Kari\nOla nordmann", "") == (
        "Rita Ottervik",
        "Ola Nordmann",
        "Kari",
    )


def test_outside_visit_dates_in_the_event_zone():
    first, last = dt.date(2027, 5, 17), dt.date(2027, 5, 18)
    inside = slot(1, at(first, 9), at(last, 23, 59))
    ends_at_midnight = slot(2, at(last, 22), at(last + dt.timedelta(days=1), 0))
    before = slot(3, at(first - dt.timedelta(days=1), 20), at(first - dt.timedelta(days=1), 22))
    after = slot(4, at(last, 23), at(last + dt.timedelta(days=1), 0, 30))
    found = cf.visit_conflicts(
        [inside, ends_at_midnight, before, after], first, last, "Europe/Oslo"
    )
    assert [c.first.item_id for c in found] == [3, 4]
    assert all(c.kind == cf.OUTSIDE for c in found)


def test_autumn_dst_long_item_over_the_repeated_hour_conflicts():
    # 01:50 (summer time) to 02:05 the second time round is 75 real minutes; an item at
    # 02:30 summer time falls inside it although its wall time is later than 02:05.
    day = dt.date(2027, 10, 31)
    long = slot(
        1, at(day, 1, 50), dt.datetime(2027, 10, 31, 2, 5, tzinfo=OSLO, fold=1), place="Hall"
    )
    inside = slot(2, at(day, 2, 30), at(day, 2, 40), place="Hall")
    assert [c.item_ids for c in cf.find_conflicts([long, inside])] == [{1, 2}]
