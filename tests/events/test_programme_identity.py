"""Saving an event updates its programme items and participations in place.

Their ids stay, and with them what hangs on them: a programme item's details (address, hosts,
transport), a detail page opened before the save, the follow-ups proposed for a participant.
"""

import datetime as dt

from crm.events.models import Event, Participation, ProgrammeItem
from crm.protocol.models import FollowUpProposal
from crm.protocol.services import create_proposed_followups, update_item_detail
from tests.conftest import OSLO
from tests.html_forms import form_fields

START = dt.datetime(2027, 5, 4, 9, tzinfo=OSLO)


def busy_event(make_event, make_org, status="confirmed") -> Event:
    org = make_org(name="Chalmers")
    return make_event(
        status=status,
        starts_at=START,
        ends_at=START + dt.timedelta(hours=8),
        programme=[
            {"title": "Welcome", "starts_at": START},
            {"title": "Lab visit", "starts_at": START + dt.timedelta(hours=2)},
        ],
        participations=[{"organisation_id": org.id, "role": "partner"}],
    )


def edit_form(client, event_id: int) -> dict:
    return form_fields(client.get(f"/events/{event_id}/edit").text).fields


def test_saving_the_event_form_keeps_items_details_and_participations(
    client, login_as, db, make_event, make_org
):
    event = busy_event(make_event, make_org, status="done")
    lab = event.programme[1]
    update_item_detail(lab, transport="Bus from the hotel", our_hosts="Kari")
    create_proposed_followups(event)
    db.session.commit()
    ids = ([i.id for i in event.programme], [p.id for p in event.participations])
    proposals = db.session.scalars(db.select(FollowUpProposal.participation_id)).all()
    login_as("coordinator")
    detail_page = client.get(f"/events/{event.id}/programme/{lab.id}")  # opened first
    fields = edit_form(client, event.id)
    assert [fields[f"programme-{n}-id"] for n in (0, 1)] == [str(i) for i in ids[0]]
    fields.update({"venue": "Britannia", "programme-1-title": "Lab visit, NTNU"})
    assert client.post(f"/events/{event.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert ([i.id for i in event.programme], [p.id for p in event.participations]) == ids
    assert [i.title for i in event.programme] == ["Welcome", "Lab visit, NTNU"]
    assert event.programme[1].detail.transport == "Bus from the hotel"
    assert db.session.scalars(db.select(FollowUpProposal.participation_id)).all() == proposals
    # the detail page opened before the save still saves
    detail = form_fields(detail_page.text).fields
    detail["interpreter"] = "Sven"
    saved = client.post(f"/events/{event.id}/programme/{lab.id}", data=detail)
    assert saved.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProgrammeItem, lab.id).detail.interpreter == "Sven"


def test_rows_cleared_go_rows_added_come_and_a_foreign_id_moves_nothing(
    client, login_as, db, make_event, make_org
):
    event = busy_event(make_event, make_org)
    tomorrow = START + dt.timedelta(days=1)
    other = make_event(
        title="Other",
        starts_at=tomorrow,
        programme=[{"title": "Theirs", "starts_at": tomorrow}],
    )
    db.session.commit()
    welcome_id = event.programme[0].id
    theirs = db.session.scalars(db.select(ProgrammeItem).filter_by(event_id=other.id)).one()
    login_as("coordinator")
    fields = edit_form(client, event.id)
    for name in ("starts_at", "ends_at", "title", "place", "who"):
        fields[f"programme-1-{name}"] = ""  # the lab visit's row emptied
    fields.update(
        {
            "programme-2-id": str(theirs.id),  # another event's item, named by hand
            "programme-2-title": "Dinner",
            "programme-2-starts_at": "19:00",
        }
    )
    assert client.post(f"/events/{event.id}/edit", data=fields).status_code == 302
    db.session.expire_all()
    programme = db.session.get(Event, event.id).programme
    assert [i.title for i in programme] == ["Welcome", "Dinner"]
    assert programme[0].id == welcome_id and programme[1].id not in (welcome_id, theirs.id)
    assert db.session.get(ProgrammeItem, theirs.id).title == "Theirs"
    assert db.session.get(ProgrammeItem, theirs.id).event_id == other.id


def test_a_refused_programme_changes_no_item(client, login_as, db, make_event, make_org):
    event = busy_event(make_event, make_org)
    db.session.commit()
    login_as("coordinator", locale="en")
    fields = edit_form(client, event.id)
    fields.update({"programme-0-title": "Renamed", "programme-1-on": "2027-06-01"})
    response = client.post(f"/events/{event.id}/edit", data=fields)
    assert response.status_code == 200 and "must take place during the event" in response.text
    db.session.expire_all()
    event = db.session.get(Event, event.id)
    assert [i.title for i in event.programme] == ["Welcome", "Lab visit"]
    assert db.session.scalar(db.select(db.func.count()).select_from(Participation)) == 1
