"""Reminders before each instance of a recurring event: real SMTP server, fixed clocks."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crm.reminders import jobs
from crm.reminders.models import OutboxStatus
from tests.reminders.conftest import rows

UTC = dt.UTC
OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a Tuesday
H = dt.timedelta(hours=1)
WEEK = dt.timedelta(weeks=1)
# A weekly Thursday meeting at 10:00 Oslo time (09:00 UTC in winter), from 3 December.
FIRST = dt.datetime(2026, 12, 3, 10, 0, tzinfo=OSLO)


@pytest.fixture
def staff(make_user):
    return make_user(email="ola@example.org", name="Ola Nordmann", locale="en")


@pytest.fixture
def weekly(make_event, staff):
    def make(**kw):
        data = {
            "title": "Weekly partner meeting",
            "starts_at": FIRST,
            "responsible_id": staff.id,
            "rrule": "FREQ=WEEKLY",
        }
        return make_event(**(data | kw))

    return make


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def run(db, now):
    """One scheduler tick at `now` (plan, commit, dispatch)."""
    planned, sent = jobs.send_due(now=now)
    db.session.commit()
    return planned, sent


def test_a_weekly_event_gets_a_reminder_before_each_instance_each_sent_once(
    db, rules, inbox, weekly, staff, make_contact, add_participant
):
    event = weekly()
    kari = make_contact(first_name="Kari", email="kari@example.no", preferred_language="nb")
    add_participant(event, kari)

    run(db, NOW)
    # Only what falls due within a day is planned, not the whole (endless) series.
    assert [(r.kind.value, r.occurs_at) for r in rows(db)] == [
        ("event_participant", FIRST.astimezone(UTC))
    ]

    # Four weeks of scheduler ticks every six hours (late by up to six hours: caught up).
    tick = NOW
    while tick <= NOW + 23 * 24 * H:
        run(db, tick)
        tick += 6 * H
    run(db, tick - 6 * H)  # the last tick once more: nothing more

    instances = [FIRST + i * WEEK for i in range(4)]
    to_ola = inbox.to("ola@example.org")
    to_kari = inbox.to("kari@example.no")
    assert len(to_ola) == len(to_kari) == 4
    for i, start in enumerate(instances):
        assert f"Dec {start.day}, 2026, 10:00" in body(to_ola[i])
        assert "(Europe/Oslo)" in body(to_ola[i])
        assert f"{start.day}. des. 2026, 10:00" in body(to_kari[i])
        assert to_kari[i]["Content-Language"] == "nb"
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(set(ids)) == len(ids) == 8

    sent = rows(db, status=OutboxStatus.SENT)
    assert len(sent) == 8 and len(rows(db)) == 8
    for row in sent:
        assert row.idempotency_key.startswith(f"{row.kind.value}:r{row.rule_id}:e{event.id}@")
        assert row.idempotency_key.endswith(
            row.occurs_at.strftime("@%Y%m%dT%H%M%SZ:")
            + (f"u{staff.id}" if row.user_id else f"c{kari.id}")
        )
        assert row.due_at == row.occurs_at - row.rule.offset
        assert row.due_at <= row.sent_at < min(row.due_at + 6 * H, row.occurs_at)
    assert sorted({r.occurs_at for r in sent}) == [s.astimezone(UTC) for s in instances]


def test_instances_follow_local_time_across_dst_and_keys_name_utc(db, rules, weekly):
    # Summer time ends on 25 October 2026: 10:00 Oslo is 08:00 UTC before it, 09:00 after.
    event = weekly(starts_at=dt.datetime(2026, 10, 22, 10, 0, tzinfo=OSLO))
    jobs.plan_reminders(now=dt.datetime(2026, 10, 28, 10, 0, tzinfo=UTC))
    db.session.commit()
    (row,) = rows(db, kind="event_responsible")
    assert row.occurs_at == dt.datetime(2026, 10, 29, 9, 0, tzinfo=UTC)
    assert row.due_at == row.occurs_at - 24 * H  # 24 real hours
    assert row.idempotency_key.endswith(f":e{event.id}@20261029T090000Z:u{event.responsible_id}")
    assert "Oct 29, 2026, 10:00" in row.body_text


def test_all_day_weekly_event_reminds_of_each_day(db, rules, inbox, make_event, staff):
    make_event(
        title="Market day",
        is_all_day=True,
        starts_at=None,
        ends_at=None,
        start_on=dt.date(2026, 12, 5),
        end_on=dt.date(2026, 12, 5),
        responsible_id=staff.id,
        rrule="FREQ=WEEKLY",
    )
    run(db, dt.datetime(2026, 12, 11, 0, 0, tzinfo=UTC))  # the 12th's reminder is due
    (row,) = rows(db)
    assert row.occurs_at == dt.datetime(2026, 12, 12, tzinfo=OSLO).astimezone(UTC)
    (mail,) = inbox.messages
    assert "When: Dec 12, 2026" in body(mail).splitlines()


def test_exdate_added_before_an_instance_cancels_its_queued_reminder(db, rules, inbox, weekly):
    event = weekly()
    second = (FIRST + WEEK).astimezone(UTC)
    run(db, second - 45 * H)  # the staff member's reminder for the 10th is queued
    (row,) = rows(db, kind="event_responsible", status=OutboxStatus.QUEUED)
    assert row.occurs_at == second

    event.exdates = "20261210T100000"  # local time, as the event form writes it
    db.session.commit()
    planned, _sent = run(db, second - 44 * H)
    assert planned.cancelled == 1
    (row,) = rows(db, occurs_at=second)
    assert (row.status, row.last_error) == (OutboxStatus.CANCELLED, jobs.GONE)
    run(db, second - 24 * H)
    assert inbox.messages == []

    # The next instance still gets its reminder, once.
    run(db, second + WEEK - 24 * H)
    run(db, second + WEEK - 23 * H)
    (mail,) = inbox.messages
    assert "Dec 17, 2026, 10:00" in body(mail)


def test_exdate_removed_again_brings_the_reminder_back_once(db, rules, inbox, weekly):
    event = weekly(exdates="20261210T100000")
    second = (FIRST + WEEK).astimezone(UTC)
    run(db, second - 30 * H)
    assert rows(db, occurs_at=second) == []
    event.exdates = ""
    db.session.commit()
    run(db, second - 24 * H)
    run(db, second - 23 * H)
    (mail,) = inbox.messages
    assert "Dec 10, 2026, 10:00" in body(mail)


def test_exdate_added_between_plan_and_send_is_not_sent(db, rules, inbox, weekly):
    event = weekly()
    second = (FIRST + WEEK).astimezone(UTC)
    jobs.plan_reminders(now=second - 24 * H)
    db.session.commit()
    event.exdates = "2026-12-10T10:00"
    db.session.commit()
    result = jobs.dispatch_due(now=second - 24 * H)
    assert result.cancelled == 1
    assert inbox.messages == []
    (row,) = rows(db, occurs_at=second)
    assert row.last_error == jobs.GONE


def test_moving_the_series_moves_its_pending_reminders(db, rules, inbox, weekly):
    event = weekly()
    second = (FIRST + WEEK).astimezone(UTC)
    run(db, second - 45 * H)
    event.starts_at += 2 * H  # the whole series: 12:00 from now on
    event.ends_at += 2 * H
    db.session.commit()
    planned, _sent = run(db, second - 44 * H)
    assert (planned.created, planned.cancelled) == (1, 1)
    old, new = rows(db, kind="event_responsible")
    assert (old.status, old.last_error) == (OutboxStatus.CANCELLED, jobs.GONE)
    assert new.status == OutboxStatus.QUEUED
    assert new.occurs_at == second + 2 * H
    assert new.due_at == second + 2 * H - 24 * H

    run(db, second - 23 * H)
    assert inbox.messages == []  # the old time's reminder is not sent
    run(db, second - 22 * H)
    run(db, second - 21 * H)
    (mail,) = inbox.messages
    assert "Dec 10, 2026, 12:00" in body(mail)


def test_lowering_an_offset_moves_a_queued_reminder_beyond_the_new_window(
    db, rules, weekly, make_contact, add_participant
):
    from crm.reminders.services import update_rule

    add_participant(weekly(), make_contact(email="kari@example.no"))
    second = (FIRST + WEEK).astimezone(UTC)
    jobs.plan_reminders(now=second - 70 * H)  # the participants' 48 h reminder is queued
    db.session.commit()
    update_rule(rules["event_participant"], offset_hours=2)
    db.session.commit()
    result = jobs.plan_reminders(now=second - 69 * H)  # the window now ends 21 h before
    db.session.commit()
    assert result.cancelled == 0
    (row,) = rows(db, kind="event_participant", occurs_at=second)
    assert (row.status, row.last_error) == (OutboxStatus.QUEUED, "")
    assert row.due_at == second - 2 * H


def test_cancelling_a_recurring_event_cancels_its_instances_reminders(db, rules, inbox, weekly):
    event = weekly()
    run(db, NOW + 2 * H)
    assert len(rows(db, status=OutboxStatus.QUEUED)) == 1
    event.status = "cancelled"
    db.session.commit()
    run(db, NOW + 26 * H)
    assert inbox.messages == []
    assert {r.last_error for r in rows(db)} == {"event cancelled"}


def test_instance_that_already_began_is_skipped(db, rules, inbox, weekly):
    from crm.reminders.services import update_rule

    update_rule(rules["event_responsible"], offset_hours=1)
    db.session.commit()
    weekly()
    second = (FIRST + WEEK).astimezone(UTC)
    run(db, second - 90 * dt.timedelta(minutes=1))  # planned, due in half an hour

    # The scheduler is down until the instance began: planning skips it ...
    run(db, second + H)
    (row,) = rows(db, occurs_at=second)
    assert (row.status, row.last_error) == (OutboxStatus.SKIPPED, jobs.BEGAN)
    assert inbox.messages == []

    # ... and so does the dispatcher when only it runs after the start.
    third = second + WEEK
    jobs.plan_reminders(now=third - H)
    db.session.commit()
    assert jobs.dispatch_due(now=third + dt.timedelta(minutes=5)).skipped == 1
    (row,) = rows(db, occurs_at=third)
    assert (row.status, row.last_error) == (OutboxStatus.SKIPPED, jobs.BEGAN)

    # The instance after still gets its reminder.
    run(db, third + WEEK - H)
    (mail,) = inbox.messages
    assert "Dec 24, 2026, 10:00" in body(mail)


def test_an_unreadable_recurrence_stops_no_other_reminder(
    db, rules, inbox, weekly, make_event, staff, caplog
):
    # dateutil refuses an UNTIL without "Z" on a timed series (some .ics exports write one).
    broken = weekly(title="Broken series")
    weekly(title="Good series")
    make_event(title="One-off", starts_at=FIRST, responsible_id=staff.id)
    first = FIRST.astimezone(UTC)
    jobs.plan_reminders(now=first - 25 * H)
    db.session.commit()
    broken.rrule = "FREQ=WEEKLY;UNTIL=20270101"
    db.session.commit()
    run(db, first - 24 * H)
    run(db, first - 23 * H)
    # Its reminder planned while readable is left alone and goes out; the others too.
    assert sorted(m["Subject"] for m in inbox.messages) == [
        "Reminder: Broken series",
        "Reminder: Good series",
        "Reminder: One-off",
    ]
    assert "unreadable recurrence" in caplog.text
    run(db, first + WEEK - 24 * H)
    assert [m["Subject"] for m in inbox.messages[3:]] == ["Reminder: Good series"]


def test_one_off_event_keeps_its_key_and_no_instance(db, rules, make_event, staff):
    event = make_event(title="Visit", starts_at=NOW + 30 * H, responsible_id=staff.id)
    jobs.plan_reminders(now=NOW + 7 * H)
    db.session.commit()
    (row,) = rows(db)
    assert row.idempotency_key == f"event_responsible:r{row.rule_id}:e{event.id}:u{staff.id}"
    assert row.occurs_at is None


def test_event_made_recurring_after_its_reminder_went_out_is_not_mailed_twice(
    db, rules, inbox, make_event, staff
):
    event = make_event(title="Visit", starts_at=FIRST, responsible_id=staff.id)
    first = FIRST.astimezone(UTC)
    run(db, first - 24 * H)
    assert len(inbox.messages) == 1
    event.rrule = "FREQ=WEEKLY"  # made a series: its first instance was reminded of already
    db.session.commit()
    run(db, first - 23 * H)
    run(db, first + WEEK - 24 * H)
    assert [("Dec 3" in body(m), "Dec 10" in body(m)) for m in inbox.messages] == [
        (True, False),
        (False, True),
    ]


def test_series_made_one_off_after_its_reminder_went_out_is_not_mailed_twice(
    db, rules, inbox, weekly
):
    event = weekly()
    first = FIRST.astimezone(UTC)
    run(db, first - 24 * H)
    run(db, first + WEEK - 30 * H)  # the next instance's reminder is queued
    event.rrule = ""
    event.starts_at += WEEK  # from the second instance on, as a one-off event
    event.ends_at += WEEK
    db.session.commit()
    run(db, first + WEEK - 24 * H)
    run(db, first + WEEK - 23 * H)
    assert len(inbox.messages) == 2
    event.rrule = "FREQ=WEEKLY"
    db.session.commit()
    run(db, first + WEEK - 22 * H)
    assert len(inbox.messages) == 2
    assert all(r.status == OutboxStatus.SENT for r in rows(db))


def test_planning_queries_do_not_grow_with_recurring_events(
    db, rules, make_event, make_user, make_contact, add_participant, count_queries
):
    counts = {}
    for n in (2, 20):
        for i in range(n):
            user = make_user(email=f"staff{n}-{i}@example.org", locale="en")
            event = make_event(
                title=f"Series {n}-{i}",
                starts_at=FIRST + i * dt.timedelta(minutes=1),
                responsible_id=user.id,
                rrule="FREQ=WEEKLY",
            )
            add_participant(event, make_contact(email=f"p{n}-{i}@example.org"))
            # A series that ended long ago is selected, expanded and left alone.
            make_event(
                title=f"Old series {n}-{i}",
                starts_at=dt.datetime(2025, 1, 6, 9, 0, tzinfo=OSLO) + i * H,
                rrule="FREQ=DAILY;COUNT=3",
            )
        now = NOW + 4 * WEEK
        db.session.expire_all()
        with count_queries() as first_run:
            created = jobs.plan_reminders(now=now).created
        db.session.commit()
        assert created >= n  # every series has a reminder planned
        db.session.expire_all()
        with count_queries() as second_run:
            result = jobs.plan_reminders(now=now + dt.timedelta(minutes=1))
        db.session.commit()
        assert (result.created, result.updated, result.cancelled) == (0, 0, 0)
        writes = [s for s in first_run if s.lstrip().upper().startswith("INSERT")]
        counts[n] = (len(first_run) - len(writes), len(second_run))
        db.session.execute(db.delete(jobs.OutboxMessage))
        # The same work each round: the day's digest not yet planned either.
        db.session.execute(db.update(jobs.ReminderRule).values(digest_planned_on=None))
        db.session.commit()
    assert counts[20] == counts[2], counts
