"""Deleting an organisation that other records link to: say what goes with it first."""

import datetime as dt

import pytest

from crm.events.models import Participation
from crm.followups.models import FollowUp, FollowUpStatus, Interaction
from crm.organisations import services
from crm.organisations.models import Organisation
from crm.protocol.models import Gift, GiftDirection


@pytest.fixture
def linked_org(db, make_org, make_event):
    """An organisation with two follow-ups (one open), an interaction, a participation, a gift."""
    org = make_org(name="Chalmers")
    event = make_event()
    db.session.add_all(
        [
            FollowUp(title="Send the report", organisation=org),
            FollowUp(title="Book a room", organisation=org, status=FollowUpStatus.DONE),
            Interaction(kind="met", occurred_on=dt.date(2026, 5, 1), organisation=org),
            Participation(event_id=event.id, organisation=org, role="partner"),
            Gift(
                description="Glass bowl",
                direction=GiftDirection.GIVEN,
                given_on=dt.date(2026, 5, 1),
                organisation=org,
            ),
        ]
    )
    db.session.commit()
    return org


@pytest.fixture
def editor(login_as, fresh_locale):
    """A coordinator reading English."""
    return login_as("coordinator", locale="en")


def count(db, model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_linked_records_are_counted_in_one_query_leaving_out_kinds_there_are_none_of(
    linked_org, count_queries
):
    assert linked_org.id  # loaded after the commit, outside the count
    with count_queries() as statements:
        linked = services.linked_records(linked_org)
    assert len(statements) == 1
    assert linked.deleted == {
        "follow_ups": 2,
        "open_follow_ups": 1,
        "interactions": 1,
        "participations": 1,
    }
    assert linked.unlinked == {"gifts": 1}


def test_first_post_shows_what_goes_with_it_and_deletes_nothing(client, editor, linked_org, db):
    response = client.post(
        f"/organisations/{linked_org.id}/delete", data={"version": linked_org.version}
    )
    assert response.status_code == 200
    text = response.text
    assert "2 follow-ups (1 open)" in text
    assert "1 interaction<" in text
    assert "1 event participation<" in text
    assert "1 gift<" in text
    assert "membership" not in text and "party to" not in text  # none of those
    assert 'name="confirmed" value="1"' in text
    assert f'name="version" value="{linked_org.version}"' in text
    assert f'href="/organisations/{linked_org.id}"' in text  # Cancel
    db.session.expire_all()
    assert db.session.get(Organisation, linked_org.id) is not None
    assert count(db, FollowUp, FollowUp.organisation_id == linked_org.id) == 2
    assert count(db, Participation, Participation.organisation_id == linked_org.id) == 1


def test_confirmed_post_deletes_it_with_what_cascades(client, editor, linked_org, db):
    org_id = linked_org.id
    response = client.post(
        f"/organisations/{org_id}/delete", data={"version": linked_org.version, "confirmed": "1"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organisations/")
    db.session.expire_all()
    assert db.session.get(Organisation, org_id) is None
    assert count(db, FollowUp) == 0
    assert count(db, Interaction) == 0
    assert count(db, Participation) == 0
    assert db.session.scalar(db.select(Gift.organisation_id)) is None


def test_organisation_nothing_links_to_is_deleted_at_once(client, editor, make_org, db):
    org = make_org()
    response = client.post(f"/organisations/{org.id}/delete", data={"version": org.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Organisation, org.id) is None


@pytest.mark.parametrize("confirmed", ["1", ""], ids=["confirmed", "first-post"])
def test_stale_version_is_refused_and_nothing_deleted(client, editor, linked_org, db, confirmed):
    response = client.post(
        f"/organisations/{linked_org.id}/delete",
        data={"version": linked_org.version - 1, "confirmed": confirmed},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/organisations/{linked_org.id}")
    db.session.expire_all()
    assert db.session.get(Organisation, linked_org.id) is not None
    assert count(db, FollowUp) == 2


@pytest.mark.parametrize("confirmed", ["1", ""], ids=["confirmed", "first-post"])
def test_viewer_may_not_delete(client, login_as, linked_org, db, confirmed):
    login_as("viewer")
    response = client.post(
        f"/organisations/{linked_org.id}/delete",
        data={"version": linked_org.version, "confirmed": confirmed},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Organisation, linked_org.id) is not None
