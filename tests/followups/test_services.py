"""Follow-up rules: creation, several at once, done/drop, the assignment mail, the timeline."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm.errors import ServiceError
from crm.events import services as event_services
from crm.followups import services
from crm.followups.models import FollowUp, FollowUpStatus
from crm.reminders import jobs
from crm.reminders.models import OutboxMessage, RuleKind

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture(autouse=True)
def request_context(app):
    """Service error messages are translated, which needs a request (as in the app)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def count(db, model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_assignment_mail_is_queued_in_the_same_transaction(db, rules, make_user, inbox):
    boss = make_user(email="boss@example.org")
    kari = make_user(email="kari@example.org", locale="en")
    followup = services.create_followup(
        title="Send the photos", assignee_id=kari.id, actor=boss, now=NOW
    )
    (row,) = db.session.scalars(db.select(OutboxMessage)).all()
    assert row.kind == RuleKind.FOLLOWUP_ASSIGNED and row.followup_id == followup.id
    db.session.rollback()  # the change is abandoned: so is its mail
    assert count(db, FollowUp) == 0
    assert count(db, OutboxMessage) == 0
    jobs.dispatch_due(now=NOW)
    assert inbox.messages == []

    services.create_followup(title="Send the photos", assignee_id=kari.id, actor=boss, now=NOW)
    db.session.commit()
    jobs.dispatch_due(now=NOW)
    (mail,) = inbox.to("kari@example.org")
    assert "Send the photos" in mail["Subject"]


def test_no_assignment_mail_to_yourself(db, rules, make_user):
    kari = make_user(email="kari@example.org")
    services.create_followup(title="Note to self", assignee_id=kari.id, actor=kari, now=NOW)
    assert count(db, OutboxMessage) == 0


@pytest.mark.parametrize(
    "data, field",
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"title": "Call", "due_on": "31.12.2026"}, "due_on"),
        ({"title": "Call", "assignee_id": 999}, "assignee_id"),
        ({"title": "Call", "contact_id": 999}, "contact_id"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(db, data, field):
    with pytest.raises(ServiceError) as error:
        services.create_followup(**data)
    assert error.value.field == field
    db.session.rollback()
    assert count(db, FollowUp) == 0


def test_deactivated_assignee_is_kept_but_never_newly_assigned(db, make_user):
    kari = make_user(email="kari@example.org")
    gone = make_user(email="gone@example.org")
    followup = services.create_followup(title="Call Astrid", assignee_id=gone.id)
    other = services.create_followup(title="Call Per", assignee_id=kari.id)
    gone.is_active_user = False
    db.session.commit()

    services.update_followup(
        followup, title="Call Astrid", due_on="2026-12-24", assignee_id=gone.id
    )
    db.session.commit()
    assert (followup.assignee_id, followup.due_on) == (gone.id, dt.date(2026, 12, 24))
    with pytest.raises(ServiceError) as error:
        services.update_followup(other, title="Call Per", assignee_id=gone.id)
    assert error.value.field == "assignee_id"
    db.session.rollback()
    with pytest.raises(ServiceError):
        services.create_followup(title="New", assignee_id=gone.id)
    db.session.rollback()
    assert services.count_open_followups(assignee_id=gone.id) == 1


def test_one_followup_per_chosen_participant(db, make_event, make_contact, make_org, make_user):
    from crm.events.models import Participation

    event = make_event()
    astrid = make_contact(first_name="Astrid")
    nils = make_contact(first_name="Nils")
    org = make_org(name="Göteborgs stad")
    parts = [
        Participation(event_id=event.id, contact_id=astrid.id, role="delegate"),
        Participation(event_id=event.id, contact_id=nils.id, role="delegate"),
        Participation(event_id=event.id, organisation_id=org.id, role="host"),
    ]
    db.session.add_all(parts)
    db.session.commit()
    kari = make_user()
    created = services.create_followups_for_participants(
        event,
        title="Thank-you letter",
        participation_ids=[parts[0].id, parts[2].id],
        due_on="2026-12-10",
        assignee_id=kari.id,
    )
    db.session.commit()
    assert {(f.contact_id, f.organisation_id) for f in created} == {
        (astrid.id, None),
        (None, org.id),
    }
    assert all(f.event_id == event.id and f.due_on == dt.date(2026, 12, 10) for f in created)
    with pytest.raises(ServiceError) as error:
        services.create_followups_for_participants(event, title="x", participation_ids=[])
    assert error.value.field == "participation_ids"


def test_done_and_drop_record_when(db, make_user):
    followup = services.create_followup(title="Call back")
    services.complete_followup(followup, outcome="They will visit in May", now=NOW)
    assert followup.status == FollowUpStatus.DONE and followup.closed_at == NOW
    assert followup.outcome == "They will visit in May"
    other = services.create_followup(title="Gift")
    services.drop_followup(other, now=NOW)
    with pytest.raises(ServiceError):
        services.complete_followup(other)


def test_my_followups_are_overdue_first_and_undated_last(db, make_user):
    kari = make_user()
    for title, due in [("later", "2026-12-20"), ("none", None), ("overdue", "2026-11-01")]:
        services.create_followup(title=title, due_on=due, assignee_id=kari.id)
    services.create_followup(title="someone else's", due_on="2026-10-01")
    db.session.commit()
    titles = [f.title for f in db.session.scalars(services.followup_query(assignee_id=kari.id))]
    assert titles == ["overdue", "later", "none"]


def test_timeline_is_newest_first_with_interactions_events_and_followups(
    db, make_contact, make_event
):
    from crm.events.models import Participation

    astrid = make_contact()
    event = make_event(title="Ski congress", starts_at=dt.datetime(2026, 2, 10, 9, tzinfo=dt.UTC))
    db.session.add(Participation(event_id=event.id, contact_id=astrid.id, role="speaker"))
    services.add_interaction(
        kind="met", occurred_on="2026-01-05", note="Met at the fair", contact_id=astrid.id
    )
    services.add_interaction(kind="gift_given", occurred_on="2026-03-01", contact_id=astrid.id)
    services.create_followup(title="Send book", due_on="2026-04-01", contact_id=astrid.id)
    db.session.commit()
    timeline = services.timeline_for(contact=astrid)
    assert [(item.kind, item.day.isoformat()) for item in timeline.items] == [
        ("followup", "2026-04-01"),
        ("interaction", "2026-03-01"),
        ("event", "2026-02-10"),
        ("interaction", "2026-01-05"),
    ]


def test_interaction_needs_a_kind_a_date_and_a_subject(db, make_contact):
    astrid = make_contact()
    for data, field in [
        ({"kind": "danced", "occurred_on": "2026-01-01", "contact_id": astrid.id}, "kind"),
        ({"kind": "met", "occurred_on": "", "contact_id": astrid.id}, "occurred_on"),
        ({"kind": "met", "occurred_on": "2026-01-01"}, None),
    ]:
        with pytest.raises(ServiceError) as error:
            services.add_interaction(**data)
        assert error.value.field == field


def _timeline_rows(page) -> list[tuple[str, str, str]]:
    return [
        (item.kind, item.day.isoformat(), getattr(item.record, "title", None) or item.record.note)
        for item in page.items
    ]


@pytest.fixture(params=[None, 4, 8], ids=["all-rows", "4-rows", "8-rows"])
def taken_part_rows(request, monkeypatch):
    """Timelines read with every participation at hand, or only the newest few: past those,
    the window of events comes from the database (4), or is covered by them (8)."""
    if request.param:
        monkeypatch.setattr(event_services, "TAKEN_PART_ROWS", request.param)
    return request.param


def test_timeline_pages_merge_the_three_sources_newest_first_with_ties_on_one_day(
    db, make_org, make_event, taken_part_rows
):
    org = make_org()
    expected = []
    # Ten days, newest first; each day a follow-up, two interactions and an event.
    for i in range(10):
        day = dt.date(2026, 3, 20) - dt.timedelta(days=i)
        followup = services.create_followup(
            title=f"Follow-up {i}", due_on=day, organisation_id=org.id
        )
        followup.created_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for suffix in ("a", "b"):
            services.add_interaction(
                kind="met", occurred_on=day, note=f"Met {i}{suffix}", organisation_id=org.id
            )
        make_event(
            title=f"Visit {i}",
            starts_at=dt.datetime.combine(day, dt.time(10), OSLO),
            participations=[{"organisation_id": org.id, "role": "host"}],
        )
        expected += [
            ("followup", day.isoformat(), f"Follow-up {i}"),
            ("interaction", day.isoformat(), f"Met {i}b"),  # same day: the later entry first
            ("interaction", day.isoformat(), f"Met {i}a"),
            ("event", day.isoformat(), f"Visit {i}"),
        ]
    # A follow-up without a due date shows on the day it was made.
    undated = services.create_followup(title="Undated", organisation_id=org.id)
    undated.created_at = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
    db.session.commit()
    # (made after "Follow-up 5", due that day: the later entry first)
    expected.insert(20, ("followup", "2026-03-15", "Undated"))

    first = services.timeline_for(organisation=org)
    second = services.timeline_for(organisation=org, page=2)
    assert _timeline_rows(first) == expected[:25] and first.has_more
    assert _timeline_rows(second) == expected[25:] and not second.has_more
    assert len(second.items) == 16
    # Smaller pages cut the same stream at other places.
    for limit in (3, 7):
        pages = [services.timeline_for(organisation=org, limit=limit, page=p) for p in (1, 2, 3)]
        rows = [row for p in pages for row in _timeline_rows(p)]
        assert rows == expected[: 3 * limit]
        assert all(p.has_more for p in pages)


def test_timeline_shows_a_followup_due_later_first_however_early_it_was_made(db, make_contact):
    astrid = make_contact()
    services.create_followup(title="Renew agreement", due_on="2027-06-01", contact_id=astrid.id)
    for i in range(5):
        services.create_followup(
            title=f"Call {i}", due_on=f"2026-01-0{i + 1}", contact_id=astrid.id
        )
    db.session.commit()
    page = services.timeline_for(contact=astrid, limit=2)
    assert [item.record.title for item in page.items] == ["Renew agreement", "Call 4"]


def test_timeline_orders_events_by_their_local_day_across_pages(
    db, make_contact, make_event, taken_part_rows
):
    astrid = make_contact()

    def visit(title, utc_start, zone):
        event = make_event(
            title=title,
            timezone=zone,
            starts_at=utc_start,
            participations=[{"contact_id": astrid.id, "role": "guest"}],
        )
        return event

    visit("Oslo, 7 March", dt.datetime(2026, 3, 7, 9, tzinfo=dt.UTC), "Europe/Oslo")
    visit("Oslo, 6 March", dt.datetime(2026, 3, 6, 9, tzinfo=dt.UTC), "Europe/Oslo")
    # Later in UTC than Tokyo's breakfast, but still 5 March in New York.
    visit("New York, 5 March 21:00", dt.datetime(2026, 3, 6, 2, tzinfo=dt.UTC), "America/New_York")
    visit("New York, 5 March 20:00", dt.datetime(2026, 3, 6, 1, tzinfo=dt.UTC), "America/New_York")
    visit("Tokyo, 6 March 08:30", dt.datetime(2026, 3, 5, 23, 30, tzinfo=dt.UTC), "Asia/Tokyo")

    pages = [services.timeline_for(contact=astrid, limit=3, page=p) for p in (1, 2)]
    assert [[item.record.title for item in p.items] for p in pages] == [
        ["Oslo, 7 March", "Oslo, 6 March", "Tokyo, 6 March 08:30"],
        ["New York, 5 March 21:00", "New York, 5 March 20:00"],
    ]
    assert [p.has_more for p in pages] == [True, False]


def test_timeline_page_out_of_range_is_empty_or_the_first(db, make_contact):
    astrid = make_contact()
    services.add_interaction(kind="met", occurred_on="2026-01-05", contact_id=astrid.id)
    db.session.commit()
    assert len(services.timeline_for(contact=astrid, page=0).items) == 1
    assert services.timeline_for(contact=astrid, page=0).page == 1
    beyond = services.timeline_for(contact=astrid, page=2)
    assert beyond.items == [] and not beyond.has_more
    deep = services.timeline_for(contact=astrid, page=services.TIMELINE_MAX_PAGE + 1)
    assert deep.items == [] and not deep.has_more
