"""Agreements: pages, state, optimistic locking, and reminders through the outbox."""

import datetime as dt

import pytest

from crm.protocol import services
from crm.protocol.models import Agreement, AgreementState
from crm.reminders import jobs
from crm.reminders.models import OutboxMessage, OutboxStatus, RuleKind

TODAY = dt.date(2027, 1, 10)


def form(org, **overrides):
    data = {
        "title": "Cooperation agreement Trondheim–Gothenburg",
        "party_ids": [str(org.id)],
        "category": "project_agreement",
        "signed_on": "2025-01-01",
        "valid_until": "2028-12-31",
        "notice_on": "2028-06-30",
        "goals": "Two student exchanges a year",
        "documents": "https://example.org/agreement.pdf",
    }
    data.update(overrides)
    return data


def test_coordinator_creates_agreement_shown_on_partner_page(client, login_as, make_org, db):
    org = make_org(name="Göteborgs stad", kind="twin_city", country="SE")
    login_as("coordinator", locale="en")
    response = client.post("/agreements/new", data=form(org))
    assert response.status_code == 302
    agreement = db.session.scalar(db.select(Agreement))
    assert [p.name for p in agreement.parties] == ["Göteborgs stad"]
    assert agreement.category.value == "project_agreement"
    assert agreement.document_links == ["https://example.org/agreement.pdf"]
    page = client.get(f"/organisations/{org.id}")
    assert "Cooperation agreement Trondheim–Gothenburg" in page.text
    listing = client.get("/agreements/")
    assert "Cooperation agreement Trondheim–Gothenburg" in listing.text
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title": ""}, "title"),
        ({"party_ids": []}, "party_ids"),
        ({"party_ids": ["999"]}, "party_ids"),
        ({"category": "frenemies"}, "category"),
        ({"valid_until": "2024-01-01"}, "valid_until"),
        ({"notice_on": "2029-01-01"}, "notice_on"),
        ({"documents": "javascript:alert(1)"}, "documents"),
        ({"valid_until": "not a date"}, "valid_until"),
    ],
)
def test_bad_agreement_input_changes_nothing(client, login_as, make_org, db, overrides, field):
    org = make_org()
    login_as("coordinator", locale="en")
    response = client.post("/agreements/new", data=form(org, **overrides))
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert db.session.scalar(db.select(db.func.count()).select_from(Agreement)) == 0


def test_viewer_reads_but_cannot_change(client, login_as, make_org):
    org = make_org()
    agreement = services.create_agreement(title="A", party_ids=[org.id])
    login_as("viewer")
    assert client.get("/agreements/").status_code == 200
    assert client.get(f"/agreements/{agreement.id}").status_code == 200
    assert client.post("/agreements/new", data=form(org)).status_code == 403
    assert client.post(f"/agreements/{agreement.id}/edit", data=form(org)).status_code == 403
    assert client.post(f"/agreements/{agreement.id}/delete").status_code == 403


def test_second_editor_with_an_old_version_is_refused(client, login_as, make_org, db):
    org = make_org()
    agreement = services.create_agreement(title="Original", party_ids=[org.id])
    db.session.commit()
    seen = agreement.version
    services.update_agreement(agreement, version=seen, title="Changed by Kari")
    db.session.commit()
    login_as("coordinator", locale="en")
    response = client.post(
        f"/agreements/{agreement.id}/edit", data=form(org, title="Mine", version=str(seen))
    )
    assert response.status_code == 200
    assert "Someone else changed this record" in response.text
    db.session.expire_all()
    assert db.session.get(Agreement, agreement.id).title == "Changed by Kari"


def test_state_active_expiring_expired(make_org, db):
    org = make_org()
    make = lambda title, until: services.create_agreement(  # noqa: E731
        title=title, party_ids=[org.id], valid_until=until
    )
    open_ended = make("Open", None)
    active = make("Active", TODAY + dt.timedelta(days=91))
    expiring = make("Expiring", TODAY + dt.timedelta(days=90))
    expired = make("Expired", TODAY - dt.timedelta(days=1))
    assert open_ended.state_on(TODAY) == AgreementState.ACTIVE
    assert active.state_on(TODAY) == AgreementState.ACTIVE
    assert expiring.state_on(TODAY) == AgreementState.EXPIRING
    assert expired.state_on(TODAY) == AgreementState.EXPIRED

    def titles(state):
        stmt = services.agreement_query(state=state, today=TODAY)
        return [a.title for a in db.session.scalars(stmt)]

    assert titles("expiring") == ["Expiring"]
    assert titles("expired") == ["Expired"]
    assert sorted(titles("active")) == ["Active", "Open"]


def test_agreement_reminders_are_planned_and_sent_once(app, db, make_org, make_user, inbox):
    org = make_org(name="Göteborgs stad")
    staff = make_user(email="kari@example.org", name="Kari", locale="en")
    other = make_user(email="ola@example.org", name="Ola", locale="nb")
    expires = dt.date(2027, 6, 30)
    notice = dt.date(2027, 3, 31)
    agreement = services.create_agreement(
        title="Twin-city agreement",
        party_ids=[org.id],
        valid_until=expires,
        notice_on=notice,
        responsible_id=staff.id,
    )
    services.create_agreement(
        title="Nobody responsible", party_ids=[org.id], valid_until=expires, notice_on=notice
    )
    db.session.commit()
    before = dt.datetime(2027, 2, 20, 12, tzinfo=dt.UTC)  # notice reminder due 1 March
    jobs.send_due(now=before)
    assert inbox.messages == []
    notice_day = dt.datetime(2027, 3, 1, 7, 30, tzinfo=dt.UTC)  # 08:30 in Oslo
    for minute in range(3):
        jobs.send_due(now=notice_day + dt.timedelta(minutes=minute))
    assert len(inbox.to("kari@example.org")) == 1
    message = inbox.to("kari@example.org")[0]
    assert "Notice date 2027-03-31" in message["Subject"]
    assert "Twin-city agreement" in message.get_body(("plain",)).get_content()
    assert inbox.to("ola@example.org") == []
    # The expiry reminder: once, even when planning runs again and again.
    expiry_day = dt.datetime(2027, 5, 31, 6, 0, tzinfo=dt.UTC)
    for minute in range(3):
        jobs.send_due(now=expiry_day + dt.timedelta(minutes=minute))
    subjects = sorted(m["Subject"] for m in inbox.to("kari@example.org"))
    assert len(subjects) == 2
    assert "expires on 2027-06-30" in subjects[0]
    keys = sorted(
        db.session.scalars(
            db.select(OutboxMessage.idempotency_key).where(
                OutboxMessage.kind == RuleKind.AGREEMENT_DATE
            )
        )
    )
    assert keys == [
        f"agreement:a{agreement.id}:expiry:2027-06-30",
        f"agreement:a{agreement.id}:notice:2027-03-31",
    ]
    assert other.id  # not the responsible person: no mail


def test_moved_date_cancels_the_queued_reminder_and_plans_a_new_one(app, db, make_org, make_user):
    org = make_org()
    staff = make_user(email="kari@example.org", locale="en")
    agreement = services.create_agreement(
        title="A", party_ids=[org.id], valid_until=dt.date(2027, 6, 30), responsible_id=staff.id
    )
    db.session.commit()
    now = dt.datetime(2027, 5, 31, 0, 0, tzinfo=dt.UTC)  # before the 08:00 send time
    jobs.plan_reminders(now=now)
    db.session.commit()
    services.update_agreement(agreement, valid_until=dt.date(2027, 6, 29))
    result = jobs.plan_reminders(now=now)
    db.session.commit()
    statuses = {
        row.idempotency_key.rsplit(":", 1)[1]: row.status
        for row in db.session.scalars(db.select(OutboxMessage))
    }
    assert statuses == {"2027-06-30": OutboxStatus.CANCELLED, "2027-06-29": OutboxStatus.QUEUED}
    assert result.created == 1 and result.cancelled == 1
