"""Events through the JSON API: time zones across DST, all-day dates, the calendar range."""

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from crm.events.models import Event
from crm.events.recurrence import occurrences
from crm.events.services import create_event, delete_event
from tests.conftest import OSLO
from tests.deadline import finishes_within

SPRING_FORWARD = {
    "title": "Night train from Stockholm",
    "kind": "delegation",
    "timezone": "Europe/Oslo",
    "starts_at": "2026-03-29T01:30:00+01:00",
    "ends_at": "2026-03-29T04:00:00+02:00",
}


def count_events(db):
    return db.session.scalar(select(func.count()).select_from(Event))


def oslo(*args):
    return dt.datetime(*args, tzinfo=OSLO)


@pytest.fixture
def add_event(app, db):
    """Factory: an event through the service, committed."""

    def add(title="Meeting", start=None, hours=2, **kw):
        start = start or oslo(2026, 5, 4, 10)
        data = {"kind": "meeting", "starts_at": start, "ends_at": start + dt.timedelta(hours=hours)}
        data.update(kw)
        # the service translates its messages up front, which needs a request's locale
        with app.test_request_context():
            event = create_event(title=title, **data)
        db.session.commit()
        return event

    return add


def test_event_across_spring_forward_reads_back_with_its_offsets(api):
    created = api.post("/api/events", json=SPRING_FORWARD)
    assert created.status_code == 201, created.json
    assert created.headers["Location"].endswith(f"/api/events/{created.json['id']}")
    body = api.get(created.headers["Location"]).json
    assert body["starts_at"] == "2026-03-29T01:30:00+01:00"
    assert body["ends_at"] == "2026-03-29T04:00:00+02:00"
    assert body["all_day"] is False
    assert body["start_date"] is None and body["end_date"] is None
    assert body["timezone"] == "Europe/Oslo"
    assert body["uid"].endswith("@vertskap")
    assert body["url"].endswith(f"/events/{body['id']}")


def test_times_given_in_utc_are_shown_in_the_event_zone(api):
    body = api.post(
        "/api/events",
        json={
            **SPRING_FORWARD,
            "starts_at": "2026-10-25T00:30:00Z",
            "ends_at": "2026-10-25T01:30:00Z",
        },
    ).json
    # the autumn night: 02:30 summer time, then 02:30 again in winter time
    assert body["starts_at"] == "2026-10-25T02:30:00+02:00"
    assert body["ends_at"] == "2026-10-25T02:30:00+01:00"


def test_all_day_event_has_inclusive_dates_and_no_times(api):
    response = api.post(
        "/api/events",
        json={
            "title": "Olavsfest",
            "kind": "cultural",
            "all_day": True,
            "start_date": "2026-07-28",
            "end_date": "2026-08-03",
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["all_day"] is True
    assert (body["start_date"], body["end_date"]) == ("2026-07-28", "2026-08-03")
    assert body["starts_at"] is None and body["ends_at"] is None
    one_day = api.post(
        "/api/events",
        json={"title": "17 May", "kind": "cultural", "all_day": True, "start_date": "2026-05-17"},
    ).json
    assert (one_day["start_date"], one_day["end_date"]) == ("2026-05-17", "2026-05-17")


def test_full_event_round_trip(api, make_org, make_contact, make_user):
    org, person = make_org(), make_contact()
    staff = make_user(email="host@trondheim.kommune.no")
    response = api.post(
        "/api/events",
        json={
            **SPRING_FORWARD,
            "status": "tentative",
            "visibility": "partners",
            "venue": "Rådhuset",
            "expected_attendance": 12,
            "responsible": "HOST@trondheim.kommune.no",
            "countries": ["se", "FI"],
            "tags": ["nordic"],
            "programme": [
                {
                    "starts_at": "2026-03-29T03:00:00+02:00",
                    "title": "Breakfast",
                    "place": "Britannia",
                }
            ],
            "participations": [
                {"organisation_id": org.id, "role": "host"},
                {"contact_id": person.id, "role": "delegate"},
            ],
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["responsible"] == staff.email
    assert body["countries"] == ["FI", "SE"]
    assert body["programme"][0]["starts_at"] == "2026-03-29T03:00:00+02:00"
    assert body["programme"][0]["ends_at"] is None
    assert [(p["name"], p["role"]) for p in body["participations"]] == [
        ("NTNU", "host"),
        ("Astrid Lindqvist", "delegate"),
    ]
    assert body["participations"][0]["organisation_id"] == org.id
    assert body["participations"][1]["contact_id"] == person.id
    assert (body["status"], body["visibility"], body["expected_attendance"]) == (
        "tentative",
        "partners",
        12,
    )
    # what a client read, it may send back unchanged (less the read-only fields)
    echo = {k: v for k, v in body.items() if k not in ("id", "uid", "url", "updated_at")}
    again = api.patch(f"/api/events/{body['id']}", json=echo)
    assert again.status_code == 200, again.json
    assert again.json["programme"][0]["title"] == "Breakfast"
    assert len(again.json["participations"]) == 2
    assert again.json["version"] == body["version"] + 1


def test_patch_moves_an_event_and_clears_the_responsible(api, add_event, make_user):
    staff = make_user()
    event = add_event(responsible_id=staff.id)
    response = api.patch(
        f"/api/events/{event.id}",
        json={
            "starts_at": "2026-05-04T12:00:00+02:00",
            "ends_at": "2026-05-04T13:00:00+02:00",
            "responsible": None,
            "version": event.version,
        },
    )
    assert response.status_code == 200, response.json
    assert response.json["starts_at"] == "2026-05-04T12:00:00+02:00"
    assert response.json["responsible"] is None
    assert response.json["title"] == "Meeting"


def test_patch_turns_a_timed_event_into_an_all_day_one(api, add_event):
    event = add_event()
    body = api.patch(
        f"/api/events/{event.id}", json={"all_day": True, "start_date": "2026-05-04"}
    ).json
    assert (body["all_day"], body["start_date"], body["end_date"]) == (
        True,
        "2026-05-04",
        "2026-05-04",
    )
    assert body["starts_at"] is None


def test_stale_patch_is_409(api, add_event):
    event = add_event()
    seen = event.version
    assert (
        api.patch(f"/api/events/{event.id}", json={"venue": "A", "version": seen}).status_code
        == 200
    )
    stale = api.patch(f"/api/events/{event.id}", json={"venue": "B", "version": seen})
    assert stale.status_code == 409
    assert api.get(f"/api/events/{event.id}").json["venue"] == "A"


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"title": ""}, "title"),
        ({"starts_at": "29 March 2026"}, "starts_at"),
        ({"starts_at": "2026-03-29T01:30:00"}, "starts_at"),
        ({"ends_at": "2026-03-29T01:00:00+01:00"}, "ends_at"),
        ({"starts_at": None}, "starts_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"kind": "picnic"}, "kind"),
        ({"all_day": True, "start_date": "2026-02-30"}, "start_date"),
        ({"all_day": True, "start_date": "2026-05-02", "end_date": "2026-05-01"}, "end_date"),
        ({"all_day": "yes"}, "all_day"),
        ({"expected_attendance": -3}, "expected_attendance"),
        ({"expected_attendance": "many"}, "expected_attendance"),
        ({"responsible": "nobody@example.org"}, "responsible"),
        ({"countries": "NO"}, "countries"),
        ({"countries": ["XX"]}, "countries"),
        ({"programme": [{"title": "Lunch"}]}, "programme[0].starts_at"),
        ({"programme": [{"title": "Lunch", "when": "noon"}]}, "programme[0].when"),
        ({"programme": [{"title": "Lunch", "starts_at": "noon"}]}, "programme[0].starts_at"),
        ({"programme": "lunch"}, "programme"),
        ({"participations": [{"organisation_id": 999}]}, "participations[0]"),
        ({"participations": [{"organisation_id": "1"}]}, "participations[0].organisation_id"),
        ({"sequence": 4}, "sequence"),
        ({"uid": "mine@example.org"}, "uid"),
    ],
)
def test_invalid_event_is_422_naming_the_field_and_saves_nothing(api, db, changes, field):
    response = api.post("/api/events", json={**SPRING_FORWARD, **changes})
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    assert count_events(db) == 0


def test_invalid_patch_changes_nothing(api, add_event, db):
    event = add_event()
    response = api.patch(
        f"/api/events/{event.id}",
        json={"venue": "Rådhuset", "ends_at": "2026-05-04T09:00:00+02:00"},
    )
    assert response.status_code == 422
    db.session.expire_all()
    assert (event.venue, event.version) == ("", 1)


def test_deleted_and_unknown_events_are_404(api, add_event, db):
    event = add_event()
    delete_event(event)
    db.session.commit()
    assert api.get(f"/api/events/{event.id}").status_code == 404
    assert api.patch(f"/api/events/{event.id}", json={"venue": "X"}).status_code == 404
    assert api.get("/api/events/999").status_code == 404
    assert api.get("/api/events").json["total"] == 0


def test_event_list_filters(api, add_event, db):
    add_event(
        "Congress",
        kind="congress",
        status="tentative",
        visibility="public",
        countries=["SE"],
        tags="science",
        start=oslo(2026, 6, 1, 9),
    )
    add_event("Fair", kind="fair", start=oslo(2026, 6, 10, 9), hours=48)
    add_event("Board meeting", start=oslo(2026, 7, 1, 9))

    def titles(query):
        return [e["title"] for e in api.get(f"/api/events?{query}").json["items"]]

    assert titles("") == ["Congress", "Fair", "Board meeting"]
    assert titles("q=board") == ["Board meeting"]
    assert titles("kind=fair") == ["Fair"]
    assert titles("status=tentative") == ["Congress"]
    assert titles("visibility=public") == ["Congress"]
    assert titles("country=se") == ["Congress"]
    assert titles("tag=Science") == ["Congress"]
    assert titles("from=2026-06-11&to=2026-06-30") == ["Fair"]  # a fair still running
    assert titles("from=2026-06-13") == ["Board meeting"]


def test_event_list_filters_by_organisation_once_per_event(api, add_event, make_org):
    hub, other = make_org(name="Hub"), make_org(name="Other")
    twice = [{"organisation_id": hub.id, "role": r} for r in ("host", "sponsor")]
    add_event("With hub", participations=twice)
    add_event("Without hub", participations=[{"organisation_id": other.id}])
    items = api.get(f"/api/events?organisation={hub.id}").json["items"]
    assert [e["title"] for e in items] == ["With hub"]
    assert api.get("/api/events?organisation=hub").status_code == 422


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=maybe", "status"),
        ("visibility=secret", "visibility"),
        ("from=June", "from"),
        ("to=2026-13-01", "to"),
        ("start=soon", "start"),
        ("start=2026-06-02&end=2026-06-01", "end"),
        ("per_page=0", "per_page"),
        ("view=full", "view"),
    ],
)
def test_bad_event_list_arguments_are_422(api, query, field):
    response = api.get(f"/api/events?{query}")
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_start_end_range_returns_overlapping_events(api, add_event):
    add_event("Before", start=oslo(2026, 5, 31, 20), hours=1)  # ends 21:00 on the 31st
    add_event("Across the start", start=oslo(2026, 5, 31, 23), hours=2)
    add_event("Inside", start=oslo(2026, 6, 15, 10))
    add_event(
        "All June",
        is_all_day=True,
        start_on=dt.date(2026, 6, 1),
        end_on=dt.date(2026, 6, 30),
        starts_at=None,
        ends_at=None,
    )
    add_event("Starts at the end", start=oslo(2026, 7, 6, 0))
    # FullCalendar's month view of June 2026: dates, or date-times with an offset
    for query in (
        "start=2026-06-01&end=2026-07-06",
        "start=2026-06-01T00:00:00%2B02:00&end=2026-07-06T00:00:00%2B02:00",
        "start=2026-06-01T00:00:00+02:00&end=2026-07-06T00:00:00+02:00",  # an unencoded "+"
        "start=2026-05-31T22:00:00Z&end=2026-07-05T22:00:00Z",
    ):
        body = api.get(f"/api/events?{query}").json
        titles = {e["title"] for e in body["items"]}
        assert titles == {"Across the start", "Inside", "All June"}, query


def test_range_queries_allow_pages_of_a_thousand(api):
    assert api.get("/api/events?per_page=1000").json["per_page"] == 200
    ranged = api.get("/api/events?start=2026-06-01&end=2026-07-01&per_page=5000").json
    assert ranged["per_page"] == 1000


def test_viewer_cannot_create_events(api_as, db):
    assert api_as("viewer").post("/api/events", json=SPRING_FORWARD).status_code == 403
    assert count_events(db) == 0


def test_event_list_query_count_does_not_grow_with_rows(
    api, add_event, make_org, make_contact, make_user, count_queries
):
    org, person, staff = make_org(), make_contact(), make_user()

    def add(first, last):
        for i in range(first, last):
            add_event(
                f"Event {i:02d}",
                start=oslo(2026, 5, 1, 10) + dt.timedelta(days=i),
                responsible_id=staff.id,
                countries=["SE"],
                tags=[f"t{i}"],
                programme=[
                    {"starts_at": oslo(2026, 5, 1, 11) + dt.timedelta(days=i), "title": "Talk"}
                ],
                participations=[{"organisation_id": org.id}, {"contact_id": person.id}],
            )

    add(0, 5)
    with count_queries() as few:
        body = api.get("/api/events?per_page=100").json
    assert len(body["items"]) == 5
    add(5, 50)
    with count_queries() as many:
        body = api.get("/api/events?per_page=100").json
    assert len(body["items"]) == 50
    assert body["items"][49]["participations"][1]["name"] == "Astrid Lindqvist"
    assert len(many) == len(few)
    ranged = "start=2026-05-01&end=2026-07-01&per_page=100"
    with count_queries() as calendar:
        assert api.get(f"/api/events?{ranged}").json["total"] == 50
    assert len(calendar) == len(few)


def test_range_query_lists_each_instance_of_a_recurring_event_in_local_time(api, add_event, db):
    series = add_event("Weekly stand-up", start=oslo(2026, 3, 16, 10), hours=1)
    series.rrule = "FREQ=WEEKLY;COUNT=6"
    series.exdates = "20260330T100000"  # one week skipped
    db.session.commit()
    body = api.get("/api/events?start=2026-03-23&end=2026-04-20").json
    starts = [item["starts_at"] for item in body["items"] if item["title"] == "Weekly stand-up"]
    # 10:00 wall-clock time on both sides of the spring-forward change; 30 March excluded
    assert starts == [
        "2026-03-23T10:00:00+01:00",
        "2026-04-06T10:00:00+02:00",
        "2026-04-13T10:00:00+02:00",
    ]
    assert all(item["recurring"] for item in body["items"] if item["title"] == "Weekly stand-up")
    assert body["total"] == 1


def test_range_query_expands_recurring_all_day_events(api, add_event, db):
    series = add_event(
        "Monthly market",
        is_all_day=True,
        start_on=dt.date(2026, 1, 3),
        end_on=dt.date(2026, 1, 4),
        starts_at=None,
        ends_at=None,
    )
    series.rrule = "FREQ=MONTHLY;BYMONTHDAY=3"
    db.session.commit()
    body = api.get("/api/events?start=2026-05-01&end=2026-07-01").json
    assert [(i["start_date"], i["end_date"]) for i in body["items"]] == [
        ("2026-05-03", "2026-05-04"),
        ("2026-06-03", "2026-06-04"),
    ]


CALENDAR_KEYS = {
    "id",
    "uid",
    "title",
    "kind",
    "status",
    "visibility",
    "all_day",
    "starts_at",
    "ends_at",
    "start_date",
    "end_date",
    "timezone",
    "url",
}


@pytest.fixture
def busy_month(add_event, make_org, make_contact, make_user, db):
    """Factory: `n` more events in May 2026 with every relation the full item shows."""
    org, person, staff = make_org(), make_contact(), make_user()
    made = []

    def add(n):
        for i in range(len(made), len(made) + n):
            start = oslo(2026, 5, 1, 10) + dt.timedelta(hours=13 * i)
            made.append(
                add_event(
                    f"Event {i:02d}",
                    kind="delegation" if i % 2 else "meeting",
                    start=start,
                    responsible_id=staff.id,
                    countries=["SE"],
                    tags=[f"t{i}"],
                    description="A long description " * 20,
                    programme=[{"starts_at": start + dt.timedelta(hours=1), "title": "Talk"}],
                    participations=[{"organisation_id": org.id}, {"contact_id": person.id}],
                )
            )
        return made

    return add


def test_calendar_view_items_are_the_full_items_cut_to_what_a_calendar_draws(
    api, add_event, busy_month
):
    busy_month(3)
    add_event(
        "Olavsfest",
        is_all_day=True,
        start_on=dt.date(2026, 5, 28),
        end_on=dt.date(2026, 6, 2),
        starts_at=None,
        ends_at=None,
    )
    for query in ("start=2026-05-01&end=2026-06-08", "from=2026-05-01", "q=event"):
        full = api.get(f"/api/events?{query}&per_page=2&page=2").json
        slim = api.get(f"/api/events?{query}&per_page=2&page=2&view=calendar").json
        assert {k: v for k, v in slim.items() if k != "items"} == {
            k: v for k, v in full.items() if k != "items"
        }, query
        assert slim["items"], query
        for slim_item, full_item in zip(slim["items"], full["items"], strict=True):
            assert set(slim_item) == CALENDAR_KEYS, query
            assert slim_item == {key: full_item[key] for key in CALENDAR_KEYS}, query
    olavsfest = api.get("/api/events?q=olavsfest&view=calendar").json["items"]
    assert (olavsfest[0]["all_day"], olavsfest[0]["end_date"]) == (True, "2026-06-02")


def test_calendar_view_keeps_the_filters_and_the_order(api, busy_month):
    busy_month(6)
    for query in ("kind=delegation", "tag=t3", "country=se&to=2026-05-02", ""):
        full = api.get(f"/api/events?{query}").json["items"]
        slim = api.get(f"/api/events?{query}&view=calendar").json["items"]
        assert [item["id"] for item in slim] == [item["id"] for item in full], query


def test_calendar_view_expands_a_recurring_event_as_the_full_view_does(api, add_event, db):
    series = add_event("Weekly stand-up", start=oslo(2026, 3, 16, 10), hours=1)
    series.rrule = "FREQ=WEEKLY;COUNT=6"
    series.exdates = "20260330T100000"
    series.rdates = "20260401T150000"
    market = add_event(
        "Monthly market",
        is_all_day=True,
        start_on=dt.date(2026, 1, 3),
        end_on=dt.date(2026, 1, 4),
        starts_at=None,
        ends_at=None,
    )
    market.rrule = "FREQ=MONTHLY;BYMONTHDAY=3"
    db.session.commit()
    ranged = "/api/events?start=2026-03-23&end=2026-04-20"
    full = api.get(ranged).json
    slim = api.get(f"{ranged}&view=calendar").json
    assert [(i["title"], i["starts_at"], i["start_date"]) for i in slim["items"]] == [
        ("Monthly market", None, "2026-04-03"),
        ("Weekly stand-up", "2026-03-23T10:00:00+01:00", None),
        ("Weekly stand-up", "2026-04-01T15:00:00+02:00", None),
        ("Weekly stand-up", "2026-04-06T10:00:00+02:00", None),
        ("Weekly stand-up", "2026-04-13T10:00:00+02:00", None),
    ]
    assert slim["items"] == [
        {key: item[key] for key in CALENDAR_KEYS | {"recurring"}} for item in full["items"]
    ]
    assert all(item["recurring"] is True for item in slim["items"])
    assert slim["total"] == full["total"] == 2


def test_unknown_view_is_422_and_answers_nothing_else(api, add_event):
    add_event()
    for view in ("full", "Calendar", "calendar,full"):
        response = api.get(f"/api/events?start=2026-05-01&end=2026-06-01&view={view}")
        assert response.status_code == 422, view
        assert list(response.json) == ["error"]
        assert list(response.json["error"]["fields"]) == ["view"]
        assert response.json["error"]["fields"]["view"] == "Use one of: calendar."


def test_calendar_view_query_count_does_not_grow_and_reads_no_relations(
    api, busy_month, count_queries
):
    ranged = "/api/events?start=2026-04-27&end=2026-06-08&per_page=1000"
    counts = {}
    for n in (5, 50):
        busy_month(n - len(busy_month(0)))
        with count_queries() as full:
            assert len(api.get(ranged).json["items"]) == n
        with count_queries() as slim:
            assert len(api.get(f"{ranged}&view=calendar").json["items"]) == n
        counts[n] = len(slim)
        assert len(slim) < len(full)
        # only the calendar's columns: no relation, no description
        unread = ("description", "event_tag", "event_country", "programme_item", "participation")
        assert not any(name in sql for sql in slim for name in unread), slim
        assert any(name in sql for sql in full for name in unread)
    assert counts[50] == counts[5]


def test_events_read_for_the_calendar_have_only_its_columns(app, add_event, db):
    from crm.api.serializers import CalendarEvent
    from crm.api.views import _calendar_query
    from crm.events.services import event_query

    stored = add_event(tags="science")
    with app.test_request_context():
        (row,) = db.session.execute(_calendar_query(event_query())).all()
    event = CalendarEvent(row)
    assert (event.id, event.title, event.rrule) == (stored.id, "Meeting", "")
    assert event.local_start == stored.local_start and event.zone == stored.zone
    for name in ("tags", "programme", "responsible", "description", "version"):
        with pytest.raises(AttributeError):
            getattr(event, name)


# Rules stored before rules were checked (an old import) must not break the calendar.
UNREADABLE_RULES = [
    # timed, UNTIL without Z: dateutil raises
    ({}, "FREQ=WEEKLY;UNTIL=20260601T100000"),
    # all-day, UNTIL a UTC time: dateutil raises
    (
        {
            "is_all_day": True,
            "start_on": dt.date(2026, 5, 4),
            "end_on": dt.date(2026, 5, 4),
            "starts_at": None,
            "ends_at": None,
        },
        "FREQ=WEEKLY;UNTIL=20260601T000000Z",
    ),
    # dateutil would loop for ever, or look for an instance until the year 9999
    ({}, "FREQ=WEEKLY;INTERVAL=0"),
    ({}, "FREQ=YEARLY;BYMONTH=13"),
    ({}, "FREQ=MINUTELY"),
]


@pytest.mark.parametrize("view", ["", "&view=calendar"])
@pytest.mark.parametrize("times, rule", UNREADABLE_RULES)
def test_a_stored_rule_that_cannot_be_read_shows_its_first_instance_only(
    api, add_event, db, caplog, times, rule, view
):
    series = add_event("Old import", start=oslo(2026, 5, 4, 10), **times)
    db.session.execute(update(Event).where(Event.id == series.id).values(rrule=rule))
    db.session.commit()
    other = add_event("Other", start=oslo(2026, 5, 6, 10))
    db.session.refresh(series)
    # where a regression would hang the request, this fails instead
    with pytest.raises(ValueError):
        finishes_within(10, lambda: occurrences(series, oslo(2026, 5, 1), oslo(2026, 6, 1)))

    def titles(query):
        response = api.get(f"/api/events?{query}{view}")
        assert response.status_code == 200
        return response.json["items"]

    with caplog.at_level("WARNING", logger="crm.api.serializers"):
        items = titles("start=2026-05-01&end=2026-06-01")
    assert [item["title"] for item in items] == ["Old import", "Other"]
    first = items[0]
    if times:
        assert (first["start_date"], first["end_date"]) == ("2026-05-04", "2026-05-04")
    else:
        assert first["starts_at"] == "2026-05-04T10:00:00+02:00"
    assert first["recurring"] is True and other.id == items[1]["id"]
    assert f"event {series.id}: unreadable recurrence" in caplog.text
    # a later month: the series' first instance is not in it
    assert titles("start=2026-06-01&end=2026-07-01") == []
