"""Plan and dispatch against a real SMTP server, with a fixed clock."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import icalendar
import pytest

from crm.reminders import jobs
from crm.reminders.mailer import message_id_for
from crm.reminders.models import OutboxStatus, RuleKind
from tests.reminders.conftest import rows

UTC = dt.UTC
OSLO = ZoneInfo("Europe/Oslo")
NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
H = dt.timedelta(hours=1)


@pytest.fixture
def staff(make_user):
    return make_user(email="ola@example.org", name="Ola Nordmann", locale="en")


@pytest.fixture
def event(make_event, staff):
    return make_event(
        title="Visit from Gothenburg", starts_at=NOW + 30 * H, responsible_id=staff.id
    )


def attachment(message):
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1
    return icalendar.Calendar.from_ical(parts[0].get_content())


def test_planning_twice_creates_no_new_rows(db, rules, event, make_contact, add_participant):
    add_participant(event, make_contact(email="astrid@example.se"))
    first = jobs.plan_reminders(now=NOW)
    db.session.commit()
    second = jobs.plan_reminders(now=NOW)
    db.session.commit()
    assert first.created == 2
    assert (second.created, second.updated, second.cancelled) == (0, 0, 0)
    assert len(rows(db)) == 2


def test_right_people_get_it_in_their_language_with_ics_exactly_once(
    db, rules, inbox, event, staff, make_contact, add_participant
):
    kari = make_contact(
        first_name="Kari", last_name="Berg", email="kari@example.no", preferred_language="nb"
    )
    john = make_contact(
        first_name="John", last_name="Smith", email="john@example.org", preferred_language="en"
    )
    silent = make_contact(first_name="Not", last_name="Asked", email="silent@example.org")
    add_participant(event, kari)
    add_participant(event, john)
    add_participant(event, silent, opted_in=False)

    jobs.send_due(now=NOW + 6 * H)  # the staff member's 24 h; the participants' 48 h caught up
    jobs.send_due(now=NOW + 6 * H + dt.timedelta(minutes=1))
    jobs.send_due(now=NOW + 7 * H)

    assert sorted(rcpt[0] for rcpt, _m in inbox.received) == [
        "john@example.org",
        "kari@example.no",
        "ola@example.org",
    ]
    (to_kari,) = inbox.to("kari@example.no")
    (to_john,) = inbox.to("john@example.org")
    (to_ola,) = inbox.to("ola@example.org")
    assert to_kari["Content-Language"] == "nb"
    assert "des." in to_kari.get_body(("plain",)).get_content()  # "2. des. 2026" in Bokmål
    assert to_john["Content-Language"] == "en"
    assert "Dec 2, 2026" in to_john.get_body(("plain",)).get_content()
    assert to_ola["Content-Language"] == "en"
    for message in (to_kari, to_john, to_ola):
        assert message.get_body(("html",)) is not None
        cal = attachment(message)
        (vevent,) = cal.walk("VEVENT")
        assert str(vevent["UID"]) == event.uid
        assert f"/events/{event.id}" in message.get_body(("plain",)).get_content() or (
            message is not to_ola
        )
    assert "List-Unsubscribe" in to_kari and to_kari["List-Unsubscribe-Post"] == (
        "List-Unsubscribe=One-Click"
    )
    assert "List-Unsubscribe" not in to_ola
    sent = rows(db, status=OutboxStatus.SENT)
    assert {r.message_id for r in sent} == {m["Message-ID"] for m in inbox.messages}
    assert all(r.message_id == message_id_for(r.idempotency_key) for r in sent)


def test_two_dispatchers_at_once_send_every_mail_once(app, db, inbox, queue_mail):
    for i in range(30):
        queue_mail(f"k{i}", due_at=NOW - H, email=f"p{i}@example.org")
    barrier = threading.Barrier(3)
    errors = []

    def dispatcher():
        with app.app_context():
            try:
                barrier.wait()
                while jobs.dispatch_due(now=NOW, limit=4).sent:
                    pass
            except Exception as error:  # surfaced by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 30
    assert len(set(ids)) == 30
    assert len(rows(db, status=OutboxStatus.SENT)) == 30


def test_smtp_down_loses_nothing_and_sends_when_back(db, smtp_server, queue_mail):
    queue_mail("down", due_at=NOW)
    result = jobs.dispatch_due(now=NOW)
    assert result.retried == 1 and result.sent == 0
    (row,) = rows(db)
    assert row.status == OutboxStatus.QUEUED
    assert row.attempts == 1
    assert row.last_error
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=60)

    assert jobs.dispatch_due(now=NOW + dt.timedelta(seconds=30)).retried == 0  # backing off
    jobs.dispatch_due(now=NOW + dt.timedelta(seconds=60))
    (row,) = rows(db)
    assert row.attempts == 2
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=180)  # 60 s, then 120 s

    smtp_server.start()
    assert jobs.dispatch_due(now=NOW + dt.timedelta(seconds=180)).sent == 1
    jobs.dispatch_due(now=NOW + dt.timedelta(hours=5))
    assert len(smtp_server.inbox.messages) == 1
    (row,) = rows(db)
    assert row.status == OutboxStatus.SENT


def test_after_the_last_attempt_the_mail_is_marked_failed(app, db, smtp_server, queue_mail):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    queue_mail("doomed", due_at=NOW)
    jobs.dispatch_due(now=NOW)
    result = jobs.dispatch_due(now=NOW + dt.timedelta(minutes=5))
    assert result.failed == 1
    (row,) = rows(db)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 2
    assert jobs.dispatch_due(now=NOW + dt.timedelta(days=1)).failed == 0


def test_row_left_in_sending_is_reclaimed_after_timeout_and_sent_once(db, inbox, queue_mail):
    queue_mail(
        "stuck",
        due_at=NOW - H,
        status=OutboxStatus.SENDING,
        claimed_at=NOW - dt.timedelta(minutes=5),
        claimed_by="dead-dispatcher",
        attempts=1,
    )
    assert jobs.dispatch_due(now=NOW).sent == 0  # still within the 10-minute timeout
    assert rows(db)[0].status == OutboxStatus.SENDING

    later = NOW + dt.timedelta(minutes=6)
    result = jobs.dispatch_due(now=later)
    assert (result.reclaimed, result.sent) == (1, 1)
    jobs.dispatch_due(now=later + H)
    assert len(inbox.messages) == 1
    (row,) = rows(db)
    assert row.status == OutboxStatus.SENT
    assert row.claimed_by is None


def test_moving_an_event_moves_its_pending_reminder(db, rules, event):
    jobs.plan_reminders(now=NOW)
    db.session.commit()
    (row,) = rows(db)
    assert row.due_at == NOW + 6 * H
    event.starts_at += 2 * H
    event.ends_at += 2 * H
    db.session.commit()
    result = jobs.plan_reminders(now=NOW + dt.timedelta(minutes=1))
    db.session.commit()
    assert result.updated == 1
    (row,) = rows(db)
    assert row.status == OutboxStatus.QUEUED
    assert row.due_at == row.next_attempt_at == NOW + 8 * H


def test_cancelling_and_deleting_events_cancel_their_reminders(db, rules, inbox, make_event, staff):
    from crm.events.services import delete_event

    cancelled = make_event(title="Cancelled", starts_at=NOW + 30 * H, responsible_id=staff.id)
    deleted = make_event(title="Deleted", starts_at=NOW + 30 * H, responsible_id=staff.id)
    jobs.plan_reminders(now=NOW)
    db.session.commit()
    assert len(rows(db, status=OutboxStatus.QUEUED)) == 2

    cancelled.status = "cancelled"
    delete_event(deleted)
    db.session.commit()
    jobs.send_due(now=NOW + 7 * H)
    assert inbox.messages == []
    assert {r.last_error for r in rows(db, status=OutboxStatus.CANCELLED)} == {
        "event cancelled",
        "event deleted",
    }

    cancelled.status = "confirmed"  # back on: its reminder is due (late) and goes out once
    db.session.commit()
    jobs.send_due(now=NOW + 8 * H)
    jobs.send_due(now=NOW + 9 * H)
    assert [m["Subject"] for m in inbox.messages] == ["Reminder: Cancelled"]


def test_cancelled_between_plan_and_send_is_not_sent(db, rules, inbox, event):
    jobs.plan_reminders(now=NOW + 6 * H)
    db.session.commit()
    event.status = "cancelled"
    db.session.commit()
    result = jobs.dispatch_due(now=NOW + 6 * H)
    assert result.cancelled == 1
    assert inbox.messages == []


def test_unsubscribed_contact_gets_nothing_more(
    db, client, rules, inbox, make_event, make_contact, add_participant
):
    kari = make_contact(first_name="Kari", email="kari@example.no", preferred_language="nb")
    first = make_event(title="First", starts_at=NOW + 40 * H)
    second = make_event(title="Second", starts_at=NOW + 60 * H)
    add_participant(first, kari)
    add_participant(second, kari, opted_in=False)
    jobs.send_due(now=NOW)
    (mail,) = inbox.to("kari@example.no")
    assert mail["Subject"].endswith(": First")
    jobs.plan_reminders(now=NOW + 13 * H)
    db.session.commit()
    assert len(rows(db, contact_id=kari.id, status=OutboxStatus.QUEUED)) == 1  # "Second"

    url = mail["List-Unsubscribe"].strip("<>")
    path = url.split("127.0.0.1:5000", 1)[1]
    confirm = client.get(path)
    assert confirm.status_code == 200 and "kari@example.no" in confirm.text
    one_click = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert one_click.status_code == 200

    assert rows(db, contact_id=kari.id, status=OutboxStatus.QUEUED) == []
    jobs.send_due(now=NOW + 13 * H)
    third = make_event(title="Third", starts_at=NOW + 70 * H)
    add_participant(third, kari, opted_in=False)
    jobs.send_due(now=NOW + 30 * H)
    assert len(inbox.to("kari@example.no")) == 1


def test_catch_up_after_three_hours_down(db, inbox, rules, make_event, staff):
    from crm.reminders.services import update_rule

    update_rule(rules["event_responsible"], offset_hours=1)
    db.session.commit()
    began = make_event(
        title="Began", starts_at=NOW + dt.timedelta(hours=1, minutes=30), responsible_id=staff.id
    )
    upcoming = make_event(
        title="Upcoming", starts_at=NOW + dt.timedelta(hours=3, minutes=30), responsible_id=staff.id
    )
    jobs.send_due(now=NOW)  # plans both; nothing due yet
    assert inbox.messages == []

    restarted = NOW + 3 * H  # the scheduler was down from NOW until now
    jobs.send_due(now=restarted)
    jobs.send_due(now=restarted + dt.timedelta(minutes=1))

    assert [m["Subject"] for m in inbox.messages] == ["Reminder: Upcoming"]
    by_event = {r.event_id: r for r in rows(db)}
    assert by_event[upcoming.id].status == OutboxStatus.SENT
    assert by_event[began.id].status == OutboxStatus.SKIPPED
    assert by_event[began.id].last_error == "event already began"


def test_24_hours_before_an_event_just_after_dst_change_is_24_real_hours(
    db, inbox, rules, make_event, staff
):
    # Summer time began on 28 March 2027 at 02:00: noon that day is 10:00 UTC.
    start = dt.datetime(2027, 3, 28, 12, 0, tzinfo=OSLO)
    event = make_event(title="Spring", starts_at=start, responsible_id=staff.id)
    due = dt.datetime(2027, 3, 27, 10, 0, tzinfo=UTC)  # 11:00 winter time, not noon
    assert event.starts_at - due == dt.timedelta(hours=24)

    jobs.send_due(now=due - dt.timedelta(minutes=1))
    assert inbox.messages == []
    assert rows(db)[0].due_at == due
    jobs.send_due(now=due)
    assert len(inbox.messages) == 1


def test_digest_goes_out_at_seven_office_time_on_both_sides_of_dst(app, db, rules, make_user):
    from crm.followups.services import create_followup

    user = make_user(email="digest@example.org", locale="nb")
    create_followup(title="Thank-you letter", due_on=dt.date(2027, 3, 1), assignee_id=user.id)
    db.session.commit()
    rule = rules["followup_digest"]
    assert jobs.digest_due_at(rule, dt.date(2027, 3, 27)) == dt.datetime(
        2027, 3, 27, 6, 0, tzinfo=UTC
    )
    assert jobs.digest_due_at(rule, dt.date(2027, 3, 28)) == dt.datetime(
        2027, 3, 28, 5, 0, tzinfo=UTC
    )

    assert jobs.plan_digests(now=dt.datetime(2027, 3, 28, 4, 59, tzinfo=UTC)).created == 0
    assert jobs.plan_digests(now=dt.datetime(2027, 3, 28, 5, 0, tzinfo=UTC)).created == 1
    assert jobs.plan_digests(now=dt.datetime(2027, 3, 28, 9, 0, tzinfo=UTC)).created == 0
    db.session.commit()
    digest = rows(db, user_id=user.id)[-1]
    assert digest.language == "nb"
    assert "Thank-you letter" in digest.body_text
    assert digest.idempotency_key.endswith(":2027-03-28")


def test_digest_lists_due_and_overdue_to_each_assignee(db, rules, inbox, make_user):
    from crm.followups.services import create_followup

    kari = make_user(email="kari@example.org", locale="en")
    per = make_user(email="per@example.org", locale="en")
    today = NOW.astimezone(OSLO).date()
    create_followup(
        title="Overdue letter", due_on=today - dt.timedelta(days=3), assignee_id=kari.id
    )
    create_followup(title="Call today", due_on=today, assignee_id=kari.id)
    create_followup(title="Next week", due_on=today + dt.timedelta(days=7), assignee_id=kari.id)
    create_followup(title="Later for Per", due_on=today + dt.timedelta(days=2), assignee_id=per.id)
    db.session.commit()
    jobs.send_due(now=NOW)
    jobs.send_due(now=NOW + H)
    (digest,) = [m for m in inbox.to("kari@example.org") if "Follow-ups due" in m["Subject"]]
    text = digest.get_body(("plain",)).get_content()
    assert "Overdue letter" in text and "Call today" in text and "Next week" not in text
    assert text.index("Overdue letter") < text.index("Call today")
    assert not [m for m in inbox.to("per@example.org") if "Follow-ups due" in m["Subject"]]


def oslo(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An office-time instant, in UTC."""
    return dt.datetime.combine(day, dt.time(hour, minute), OSLO).astimezone(UTC)


def subjects(inbox, address: str) -> list[str]:
    return [str(m["Subject"]) for m in inbox.to(address)]


def digests(inbox, address: str) -> list[str]:
    return [s for s in subjects(inbox, address) if s.startswith("Follow-ups due")]


DAY = dt.date(2026, 12, 1)
NEXT_DAY = DAY + dt.timedelta(days=1)


def test_first_start_late_in_the_day_sends_no_digest_until_seven(db, rules, inbox, make_user):
    """`make run` at 22:45: staff made then have no 07:00 digest owed for that day."""
    from crm.followups.services import create_followup

    made = oslo(DAY, 22, 45)
    admin = make_user(email="admin@example.org", locale="en", role="admin", created_at=made)
    kari = make_user(email="kari@example.org", locale="en", created_at=made)
    create_followup(title="Overdue letter", due_on=DAY - dt.timedelta(days=2), assignee_id=admin.id)
    db.session.commit()

    jobs.send_due(now=oslo(DAY, 22, 47))
    create_followup(
        title="Call today", due_on=DAY, assignee_id=kari.id, actor=admin, now=oslo(DAY, 22, 55)
    )
    db.session.commit()
    jobs.send_due(now=oslo(DAY, 22, 55))
    assert digests(inbox, "admin@example.org") == []
    assert subjects(inbox, "kari@example.org") == ["New follow-up for you: Call today"]

    jobs.send_due(now=oslo(NEXT_DAY, 6, 59))
    assert digests(inbox, "admin@example.org") == digests(inbox, "kari@example.org") == []
    jobs.send_due(now=oslo(NEXT_DAY, 7, 0))
    assert digests(inbox, "admin@example.org") == ["Follow-ups due: 1"]
    assert digests(inbox, "kari@example.org") == ["Follow-ups due: 1"]


def test_followup_falling_due_after_the_digest_waits_for_the_next_one(db, rules, inbox, make_user):
    """The day's digest was planned at 07:00; an assignment at 22:55 does not plan it again."""
    from crm.followups.services import create_followup

    admin = make_user(email="admin@example.org", locale="en", role="admin")
    kari = make_user(email="kari@example.org", locale="en")
    jobs.send_due(now=oslo(DAY, 7, 0))
    create_followup(
        title="Call today", due_on=DAY, assignee_id=kari.id, actor=admin, now=oslo(DAY, 22, 55)
    )
    db.session.commit()
    jobs.send_due(now=oslo(DAY, 22, 55))
    jobs.send_due(now=oslo(DAY, 23, 59))
    assert subjects(inbox, "kari@example.org") == ["New follow-up for you: Call today"]

    jobs.send_due(now=oslo(NEXT_DAY, 7, 0))
    assert digests(inbox, "kari@example.org") == ["Follow-ups due: 1"]


def test_digest_missed_while_the_scheduler_was_down_is_sent_once_when_it_is_back(
    db, rules, inbox, make_user
):
    from crm.followups.services import create_followup

    kari = make_user(email="kari@example.org", locale="en")
    late = make_user(email="late@example.org", locale="en", created_at=oslo(DAY, 9, 0))
    for user in (kari, late):
        create_followup(title="Call today", due_on=DAY, assignee_id=user.id)
    db.session.commit()

    jobs.send_due(now=oslo(DAY, 6, 0))  # then down from 06:00 to 12:00
    jobs.send_due(now=oslo(DAY, 12, 0))
    jobs.send_due(now=oslo(DAY, 12, 1))
    assert digests(inbox, "kari@example.org") == ["Follow-ups due: 1"]
    assert rows(db, user_id=kari.id, kind=RuleKind.FOLLOWUP_DIGEST)[0].due_at == oslo(DAY, 7, 0)
    assert digests(inbox, "late@example.org") == []  # made at 09:00, after the digest time
    jobs.send_due(now=oslo(NEXT_DAY, 7, 0))
    assert digests(inbox, "late@example.org") == ["Follow-ups due: 1"]


def test_digest_rule_made_after_its_time_owes_nothing_that_day(db, rules, inbox, make_user):
    from crm.followups.services import create_followup

    kari = make_user(email="kari@example.org", locale="en")
    create_followup(title="Call today", due_on=DAY, assignee_id=kari.id)
    rules["followup_digest"].created_at = oslo(DAY, 22, 45)
    db.session.commit()
    jobs.send_due(now=oslo(DAY, 22, 46))
    assert digests(inbox, "kari@example.org") == []
    jobs.send_due(now=oslo(NEXT_DAY, 7, 0))
    assert digests(inbox, "kari@example.org") == ["Follow-ups due: 1"]


def test_digest_switched_on_after_its_time_waits_for_the_next_day(db, rules, inbox, make_user):
    from crm.followups.services import create_followup
    from crm.reminders.services import update_rule

    kari = make_user(email="kari@example.org", locale="en")
    create_followup(title="Call today", due_on=DAY, assignee_id=kari.id)
    update_rule(rules["followup_digest"], send_time="07:00", is_active=False)
    db.session.commit()
    jobs.send_due(now=oslo(DAY, 7, 0))
    update_rule(rules["followup_digest"], send_time="07:00", is_active=True)
    db.session.commit()
    jobs.send_due(now=oslo(DAY, 10, 0))
    assert digests(inbox, "kari@example.org") == []
    jobs.send_due(now=oslo(NEXT_DAY, 7, 0))
    assert digests(inbox, "kari@example.org") == ["Follow-ups due: 1"]


def test_staff_who_switched_a_rule_off_get_nothing(db, rules, inbox, event, staff):
    from crm.reminders.services import set_preferences

    set_preferences(staff, enabled_rule_ids=[rules["followup_digest"].id])
    db.session.commit()
    jobs.send_due(now=NOW + 7 * H)
    assert inbox.messages == []


def test_send_due_command_plans_and_sends(runner, db, rules, inbox, make_event, staff):
    make_event(title="Soon", starts_at=dt.datetime.now(UTC) + 2 * H, responsible_id=staff.id)
    result = runner.invoke(args=["crm", "send-due"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output
    assert [m["Subject"] for m in inbox.messages] == ["Reminder: Soon"]
    assert runner.invoke(args=["crm", "send-due"]).exit_code == 0
    assert len(inbox.messages) == 1


def test_the_calendar_attachment_says_its_charset(db, rules, inbox, make_event, staff):
    """A mail program reads æøå in the .ics only when the part says it is UTF-8."""
    make_event(title="Besøk fra Tromsø «æøå»", starts_at=NOW + 30 * H, responsible_id=staff.id)
    jobs.send_due(now=NOW + 6 * H)
    (to_ola,) = inbox.to("ola@example.org")
    (part,) = [p for p in to_ola.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert part.get_content_charset() == "utf-8"
    (vevent,) = attachment(to_ola).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Besøk fra Tromsø «æøå»"
