"""Automatic follow-up: proposed when an event is done, created once per partner participant."""

from crm.events.services import update_event
from crm.followups.models import FollowUp


def count(db):
    return db.session.scalar(db.select(db.func.count()).select_from(FollowUp))


def done_event(make_event, make_org, make_contact, db):
    event = make_event(status="confirmed")
    org = make_org(name="Göteborgs stad", kind="twin_city", country="SE")
    guest = make_contact(first_name="Anna", last_name="Berg")
    host = make_contact(first_name="Rita", last_name="Ottervik")
    update_event(
        event,
        participations=[
            {"organisation_id": org.id, "role": "partner"},
            {"contact_id": guest.id, "role": "delegate"},
            {"contact_id": host.id, "role": "host"},
        ],
    )
    db.session.commit()
    return event


def test_done_event_proposes_follow_ups_created_once(
    client, login_as, make_event, make_org, make_contact, db
):
    event = done_event(make_event, make_org, make_contact, db)
    login_as("coordinator", locale="en")
    assert "Create these follow-ups" not in client.get(f"/events/{event.id}").text
    update_event(event, status="done")
    db.session.commit()
    page = client.get(f"/events/{event.id}")
    assert "Create these follow-ups" in page.text
    response = client.post(f"/events/{event.id}/followups/proposed")
    assert response.status_code == 302
    assert count(db) == 6  # three each for the partner and the delegate, none for our host
    titles = sorted(f.title for f in db.session.scalars(db.select(FollowUp)))
    assert "Send a thank-you: Anna Berg" in titles
    assert "Send photos: Göteborgs stad" in titles
    # A second click, or the event marked done again, creates nothing new.
    client.post(f"/events/{event.id}/followups/proposed")
    update_event(event, status="confirmed")
    update_event(event, status="done")
    db.session.commit()
    assert "Create these follow-ups" not in client.get(f"/events/{event.id}").text
    client.post(f"/events/{event.id}/followups/proposed")
    assert count(db) == 6


def test_not_done_event_creates_nothing(client, login_as, make_event, make_org, make_contact, db):
    event = done_event(make_event, make_org, make_contact, db)
    login_as("coordinator", locale="en")
    client.post(f"/events/{event.id}/followups/proposed")
    assert count(db) == 0


def test_viewer_cannot_create_follow_ups(client, login_as, make_event, make_org, make_contact, db):
    event = done_event(make_event, make_org, make_contact, db)
    update_event(event, status="done")
    db.session.commit()
    login_as("viewer")
    assert client.post(f"/events/{event.id}/followups/proposed").status_code == 403
    assert count(db) == 0
