"""Event services: times across DST, all-day dates, validation, lists, soft delete, queries."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm.errors import ConflictError, NotFoundError, ServiceError
from crm.events import services
from crm.events.models import Event, Participation, ProgrammeItem

OSLO = ZoneInfo("Europe/Oslo")
UTC = dt.UTC


@pytest.fixture(autouse=True)
def _request(app):
    """Services translate their messages, which needs a request (see crm.i18n.select_locale);
    English, so the tests can read them."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def oslo(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=OSLO)


def count(db, model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_local_time_in_the_spring_gap_is_refused(app):
    with pytest.raises(ServiceError) as error:
        services.local_to_utc(dt.date(2026, 3, 29), dt.time(2, 30), "Europe/Oslo", field="x")
    assert "does not exist" in error.value.message
    assert error.value.field == "x"


def test_ambiguous_autumn_time_means_its_first_occurrence(app):
    first = services.local_to_utc(dt.date(2026, 10, 25), dt.time(2, 30), "Europe/Oslo")
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST, not 02:30 CET (01:30 UTC)


def test_local_to_utc_refuses_an_unknown_zone(app):
    with pytest.raises(ServiceError) as error:
        services.local_to_utc(dt.date(2026, 1, 1), dt.time(9), "Mars/Olympus_Mons")
    assert error.value.field == "timezone"


def test_event_across_the_autumn_change_keeps_its_real_duration(db):
    start = services.local_to_utc(dt.date(2026, 10, 25), dt.time(1, 30), "Europe/Oslo")
    end = services.local_to_utc(dt.date(2026, 10, 25), dt.time(3, 30), "Europe/Oslo")
    event = services.create_event(title="Night run", kind="sports", starts_at=start, ends_at=end)
    db.session.commit()
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.starts_at == utc(2026, 10, 24, 23, 30)
    assert event.ends_at == utc(2026, 10, 25, 2, 30)
    assert event.ends_at - event.starts_at == dt.timedelta(hours=3)
    assert (event.local_start.hour, event.local_start.minute) == (1, 30)
    assert (event.local_end.hour, event.local_end.minute) == (3, 30)


def test_event_across_the_spring_change_keeps_its_real_duration(db):
    start = services.local_to_utc(dt.date(2026, 3, 29), dt.time(1), "Europe/Oslo")
    end = services.local_to_utc(dt.date(2026, 3, 29), dt.time(4), "Europe/Oslo")
    event = services.create_event(title="Early bird", kind="other", starts_at=start, ends_at=end)
    db.session.commit()
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert (event.starts_at, event.ends_at) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))
    assert event.local_end.hour == 4


def test_all_day_event_keeps_dates_and_the_zones_midnights(db):
    event = services.create_event(
        title="Fair",
        kind="fair",
        is_all_day=True,
        start_on=dt.date(2026, 3, 28),
        end_on=dt.date(2026, 3, 29),
        starts_at=utc(2020, 1, 1),  # ignored for an all-day event
    )
    db.session.commit()
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.is_all_day
    assert (event.start_on, event.end_on) == (dt.date(2026, 3, 28), dt.date(2026, 3, 29))
    # midnight before the first day (CET) and after the last (CEST: the clocks changed)
    assert event.starts_at == utc(2026, 3, 27, 23)
    assert event.ends_at == utc(2026, 3, 29, 22)


def test_all_day_end_defaults_to_the_start_day_in_the_events_zone(db):
    event = services.create_event(
        title="Visit",
        kind="delegation",
        timezone="America/New_York",
        is_all_day=True,
        start_on=dt.date(2026, 7, 1),
    )
    assert event.end_on == dt.date(2026, 7, 1)
    assert event.starts_at == utc(2026, 7, 1, 4)
    assert event.ends_at == utc(2026, 7, 2, 4)


def test_switching_to_timed_forgets_the_dates(db):
    event = services.create_event(
        title="Visit", kind="delegation", is_all_day=True, start_on=dt.date(2027, 1, 5)
    )
    services.update_event(
        event, is_all_day=False, starts_at=oslo(2027, 1, 5, 9), ends_at=oslo(2027, 1, 5, 12)
    )
    assert (event.start_on, event.end_on, event.is_all_day) == (None, None, False)
    assert event.starts_at == utc(2027, 1, 5, 8)


def base(**overrides) -> dict:
    data = {
        "title": "Delegation from Gothenburg",
        "kind": "delegation",
        "starts_at": oslo(2027, 5, 4, 9),
        "ends_at": oslo(2027, 5, 4, 17),
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title": "  "}, "title"),
        ({"kind": "picnic"}, "kind"),
        ({"status": "maybe"}, "status"),
        ({"visibility": "secret"}, "visibility"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"ends_at": oslo(2027, 5, 4, 9)}, "ends_at"),
        ({"ends_at": oslo(2027, 5, 4, 8)}, "ends_at"),
        ({"starts_at": None}, "starts_at"),
        ({"starts_at": dt.datetime(2027, 5, 4, 9)}, "starts_at"),
        ({"countries": ["SE", "XX"]}, "countries"),
        ({"expected_attendance": -1}, "expected_attendance"),
        ({"actual_attendance": "many"}, "actual_attendance"),
        ({"responsible_id": 999}, "responsible_id"),
        ({"responsible_email": "nobody@example.org"}, "responsible_id"),
        (
            {"is_all_day": True, "start_on": dt.date(2027, 5, 4), "end_on": dt.date(2027, 5, 3)},
            "end_on",
        ),
        ({"is_all_day": True}, "start_on"),
        ({"programme": [{"title": "", "starts_at": oslo(2027, 5, 4, 9)}]}, "programme-0-title"),
        ({"programme": [{"title": "Lunch"}]}, "programme-0-starts_at"),
        (
            {
                "programme": [
                    {"title": "Welcome", "starts_at": oslo(2027, 5, 4, 9)},
                    {
                        "title": "Lunch",
                        "starts_at": oslo(2027, 5, 4, 12),
                        "ends_at": oslo(2027, 5, 4, 11),
                    },
                ]
            },
            "programme-1-ends_at",
        ),
        (
            {"programme": [{"title": "Next month", "starts_at": oslo(2027, 6, 4, 9)}]},
            "programme-0-starts_at",
        ),
        ({"participations": [{"organisation_id": 999}]}, "participations-0-name"),
        ({"participations": [{}]}, "participations-0-name"),
        ({"participations": [{"organisation_id": 1, "contact_id": 1}]}, "participations-0-name"),
    ],
)
def test_create_event_refuses_bad_input_and_adds_nothing(db, overrides, field):
    with pytest.raises(ServiceError) as error:
        services.create_event(**base(**overrides))
    assert error.value.field == field
    assert error.value.message
    db.session.rollback()
    assert count(db, Event) == 0


def test_participation_with_an_unknown_role_is_refused(db, make_org):
    org = make_org()
    with pytest.raises(ServiceError) as error:
        services.create_event(**base(participations=[{"organisation_id": org.id, "role": "boss"}]))
    assert error.value.field == "participations-0-role"


def test_programme_may_include_the_evening_before(db):
    event = services.create_event(
        **base(programme=[{"title": "Arrival dinner", "starts_at": oslo(2027, 5, 3, 19)}])
    )
    assert event.programme[0].local_start.hour == 19


def test_create_event_with_everything(db, make_user, make_org, make_contact):
    user = make_user(email="ola@example.org")
    org, contact = make_org(), make_contact()
    event = services.create_event(
        **base(
            responsible_email="OLA@example.org",
            countries=["se", "NO", "SE"],
            tags="Sweden, twin city",
            expected_attendance=12,
            programme=[
                {"title": "Lunch", "starts_at": oslo(2027, 5, 4, 12), "place": "Britannia"},
                {"title": "Welcome", "starts_at": oslo(2027, 5, 4, 9), "who": "Mayor"},
            ],
            participations=[
                {"organisation_id": org.id, "role": "host"},
                {"contact_id": contact.id, "role": "delegate"},
                {"contact_id": contact.id, "role": "delegate"},
            ],
        )
    )
    db.session.commit()
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert event.responsible_id == user.id
    assert event.country_codes == ["NO", "SE"]
    assert [t.name for t in event.tags] == ["sweden", "twin city"]
    assert [i.title for i in event.programme] == ["Welcome", "Lunch"]
    assert [(p.participant.name, p.role.value) for p in event.participations] == [
        ("NTNU", "host"),
        ("Astrid Lindqvist", "delegate"),
    ]
    assert event.uid.endswith("@vertskap")


def test_update_replaces_lists_and_bumps_the_version(db, make_org):
    org = make_org()
    event = services.create_event(
        **base(
            countries=["SE"],
            tags="a",
            programme=[{"title": "Old", "starts_at": oslo(2027, 5, 4, 9)}],
            participations=[{"organisation_id": org.id}],
        )
    )
    db.session.commit()
    version = event.version
    services.update_event(
        event,
        version=version,
        countries=["DK", "SE"],
        tags="b",
        programme=[{"title": "New", "starts_at": oslo(2027, 5, 4, 10)}],
        participations=[],
    )
    db.session.commit()
    assert event.country_codes == ["DK", "SE"]
    assert [t.name for t in event.tags] == ["b"]
    assert [i.title for i in event.programme] == ["New"]
    assert event.participations == []
    assert count(db, ProgrammeItem) == 1 and count(db, Participation) == 0
    assert event.version == version + 1


def test_update_with_a_stale_version_is_refused(db):
    event = services.create_event(**base())
    db.session.commit()
    seen = event.version
    services.update_event(event, version=seen, title="First")
    db.session.commit()
    with pytest.raises(ConflictError):
        services.update_event(event, version=seen, title="Second")
    db.session.rollback()
    assert db.session.get(Event, event.id).title == "First"


def test_delete_is_soft_and_cancels(db):
    event = services.create_event(**base())
    db.session.commit()
    services.delete_event(event, version=event.version)
    db.session.commit()
    event = db.session.get(Event, event.id)
    assert event.is_deleted and event.status.value == "cancelled"
    assert db.session.scalars(services.event_query()).all() == []
    assert db.session.scalars(services.event_query(include_deleted=True)).all() == [event]


def test_adding_a_participant_bumps_the_version_and_refuses_duplicates(db, make_org):
    org = make_org()
    event = services.create_event(**base())
    db.session.commit()
    version = event.version
    services.add_participation(event, organisation_id=org.id, role="host")
    db.session.commit()
    assert event.version == version + 1
    with pytest.raises(ServiceError):
        services.add_participation(event, organisation_id=org.id, role="host")
    db.session.rollback()
    services.add_participation(event, organisation_id=org.id, role="sponsor")
    assert len(event.participations) == 2


def test_removing_a_participant(db, make_contact):
    contact = make_contact()
    event = services.create_event(**base(participations=[{"contact_id": contact.id}]))
    db.session.commit()
    services.remove_participation(event, event.participations[0].id)
    db.session.commit()
    assert count(db, Participation) == 0
    with pytest.raises(NotFoundError):
        services.remove_participation(event, 12345)


def test_resolve_participant_by_name_any_case(db, make_org, make_contact):
    org = make_org(name="Trøndelag fylkeskommune")
    contact = make_contact(first_name="Åse", last_name="Ødegård")
    assert services.resolve_participant(kind="organisation", name=" TRØNDELAG  Fylkeskommune") == {
        "organisation_id": org.id
    }
    assert services.resolve_participant(kind="contact", name="åse ødegård") == {
        "contact_id": contact.id
    }
    with pytest.raises(ServiceError, match="No organisation"):
        services.resolve_participant(kind="organisation", name="Trøndelag")


def test_resolve_participant_with_several_matches_needs_the_id(db, make_contact):
    first = make_contact(first_name="Ola", last_name="Nordmann", email="a@example.org")
    second = make_contact(first_name="Ola", last_name="Nordmann", email="b@example.org")
    with pytest.raises(ServiceError, match="2 records"):
        services.resolve_participant(kind="contact", name="Ola Nordmann")
    found = services.resolve_participant(
        kind="contact", name="ola nordmann", participant_id=str(second.id)
    )
    assert found == {"contact_id": second.id} != {"contact_id": first.id}


def titles(db, **filters) -> list[str]:
    return [e.title for e in db.session.scalars(services.event_query(**filters))]


def test_event_query_date_range_uses_oslo_days(db, make_event):
    # 00:30–01:30 on 2 June in Oslo is still 1 June in UTC
    make_event(title="Night", starts_at=oslo(2027, 6, 2, 0, 30), ends_at=oslo(2027, 6, 2, 1, 30))
    make_event(title="Evening", starts_at=oslo(2027, 6, 1, 20), ends_at=oslo(2027, 6, 1, 23))
    make_event(
        title="Congress",
        starts_at=oslo(2027, 5, 30, 9),
        ends_at=oslo(2027, 6, 3, 17),
        kind="congress",
    )
    assert titles(db, date_from=dt.date(2027, 6, 2)) == ["Congress", "Night"]
    assert titles(db, date_to=dt.date(2027, 6, 1)) == ["Congress", "Evening"]
    assert titles(db, date_from=dt.date(2027, 6, 2), date_to=dt.date(2027, 6, 2)) == [
        "Congress",
        "Night",
    ]
    assert titles(db, date_from=dt.date(2027, 6, 4)) == []


def test_event_query_all_day_event_is_found_on_each_of_its_days(db, make_event):
    make_event(
        title="Fair", is_all_day=True, start_on=dt.date(2027, 6, 1), end_on=dt.date(2027, 6, 2)
    )
    assert titles(db, date_from=dt.date(2027, 6, 2), date_to=dt.date(2027, 6, 2)) == ["Fair"]
    assert titles(db, date_from=dt.date(2027, 6, 3)) == []
    assert titles(db, date_to=dt.date(2027, 5, 31)) == []


def test_event_query_filters(db, make_event, make_org, make_contact):
    org, contact = make_org(), make_contact()
    make_event(
        title="Ærlig talt",
        kind="cultural",
        status="tentative",
        visibility="internal",
        countries=["DK"],
        tags="culture",
        participations=[{"organisation_id": org.id}],
    )
    make_event(title="Gothenburg", countries=["SE"], participations=[{"contact_id": contact.id}])
    assert titles(db, q="ÆRLIG") == ["Ærlig talt"]
    assert titles(db, kind="cultural") == ["Ærlig talt"]
    assert titles(db, kind="nonsense") == ["Ærlig talt", "Gothenburg"]
    assert titles(db, status="tentative") == ["Ærlig talt"]
    assert titles(db, visibility="public") == ["Gothenburg"]
    assert titles(db, country="se") == ["Gothenburg"]
    assert titles(db, tag="Culture") == ["Ærlig talt"]
    assert titles(db, organisation_id=org.id) == ["Ærlig talt"]
    assert titles(db, contact_id=contact.id) == ["Gothenburg"]


@pytest.mark.parametrize("rows_read", [None, 8])
def test_organisation_events_are_the_latest_with_their_roles_and_the_count(
    db, make_org, make_contact, make_event, monkeypatch, count_queries, rows_read
):
    """With every row read, or only the newest 8 (the count then comes from the database)."""
    if rows_read:
        monkeypatch.setattr(services, "TAKEN_PART_ROWS", rows_read)
    hub, other = make_org(name="Hub"), make_org(name="Other")
    guest = make_contact()
    start = dt.datetime(2026, 3, 1, 10, tzinfo=OSLO)
    for i in range(12):
        roles = [{"organisation_id": hub.id, "role": "host"}, {"contact_id": guest.id}]
        if i == 11:
            roles.append({"organisation_id": hub.id, "role": "sponsor"})
        make_event(title=f"Visit {i}", starts_at=start + dt.timedelta(days=i), participations=roles)
    make_event(title="Other's", starts_at=start, participations=[{"organisation_id": other.id}])
    gone = make_event(title="Deleted", participations=[{"organisation_id": hub.id}])
    gone.deleted_at = dt.datetime.now(dt.UTC)
    db.session.commit()

    taken = services.taken_part(organisation_id=hub.id)
    assert taken.complete is (rows_read is None)
    assert len(taken.rows) == (rows_read or 13)
    latest = services.organisation_events(taken, limit=3)
    assert [(event.title, [r.value for r in roles]) for event, roles in latest.rows] == [
        ("Visit 11", ["host", "sponsor"]),
        ("Visit 10", ["host"]),
        ("Visit 9", ["host"]),
    ]
    assert latest.total == 12 and latest.has_more
    # The events are read once, however many times the page asks for them.
    with count_queries() as queries:
        assert taken.events([e.id for e, _ in latest.rows])
    assert queries == []
    assert [row.event_id for row in services.taken_part(contact_id=guest.id).rows][:1] == [
        latest.rows[0][0].id
    ]
