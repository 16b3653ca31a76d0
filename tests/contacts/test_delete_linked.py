"""Deleting a contact that other records link to: say what goes with them first."""

import datetime as dt

import pytest

from crm.contacts import services
from crm.contacts.models import Contact, Membership
from crm.events.models import Participation
from crm.followups.models import FollowUp, Interaction
from crm.protocol.models import Gift, GiftDirection


@pytest.fixture
def linked_contact(db, make_contact, make_org, make_event):
    """A contact with a follow-up, an interaction, a participation, a membership and a gift."""
    contact = make_contact(email="astrid@example.se")
    org = make_org()
    event = make_event()
    db.session.add_all(
        [
            FollowUp(title="Send thanks", contact=contact),
            Interaction(kind="called", occurred_on=dt.date(2026, 5, 1), contact=contact),
            Participation(event_id=event.id, contact=contact, role="guest"),
            Membership(contact=contact, organisation=org, role="Dean"),
            Gift(
                description="Book",
                direction=GiftDirection.RECEIVED,
                given_on=dt.date(2026, 5, 1),
                contact=contact,
            ),
        ]
    )
    db.session.commit()
    return contact


@pytest.fixture
def editor(login_as, fresh_locale):
    """A coordinator reading English."""
    return login_as("coordinator", locale="en")


def count(db, model, *where):
    return db.session.scalar(db.select(db.func.count()).select_from(model).where(*where))


def test_linked_records_are_counted_in_one_query_leaving_out_kinds_there_are_none_of(
    linked_contact, count_queries
):
    assert linked_contact.id  # loaded after the commit, outside the count
    with count_queries() as statements:
        linked = services.linked_records(linked_contact)
    assert len(statements) == 1
    assert linked.deleted == {
        "follow_ups": 1,
        "open_follow_ups": 1,
        "interactions": 1,
        "participations": 1,
        "memberships": 1,
    }
    assert linked.unlinked == {"gifts": 1}


def test_first_post_shows_what_goes_with_them_and_deletes_nothing(
    client, editor, linked_contact, db
):
    response = client.post(
        f"/contacts/{linked_contact.id}/delete", data={"version": linked_contact.version}
    )
    assert response.status_code == 200
    text = response.text
    assert "1 follow-up (1 open)" in text
    assert "1 interaction<" in text
    assert "1 event participation<" in text
    assert "1 membership<" in text
    assert "1 gift<" in text
    assert 'name="confirmed" value="1"' in text
    assert f'name="version" value="{linked_contact.version}"' in text
    assert f'href="/contacts/{linked_contact.id}"' in text  # Cancel
    assert "/data/merge/" not in text  # no duplicate to merge with
    assert "#erase-heading" not in text  # erasing is for admins
    db.session.expire_all()
    assert db.session.get(Contact, linked_contact.id) is not None
    assert count(db, FollowUp, FollowUp.contact_id == linked_contact.id) == 1
    assert count(db, Participation, Participation.contact_id == linked_contact.id) == 1


def test_page_offers_merging_a_duplicate_and_to_admins_erasure(
    client, login_as, fresh_locale, linked_contact, make_contact
):
    twin = make_contact(first_name="A.", email="astrid@example.se")
    login_as("admin", locale="en")
    response = client.post(
        f"/contacts/{linked_contact.id}/delete", data={"version": linked_contact.version}
    )
    assert response.status_code == 200
    assert f"/data/merge/{twin.id}/{linked_contact.id}" in response.text
    assert f"/privacy/contacts/{linked_contact.id}#erase-heading" in response.text


def test_confirmed_post_deletes_them_with_what_cascades(client, editor, linked_contact, db):
    contact_id = linked_contact.id
    response = client.post(
        f"/contacts/{contact_id}/delete",
        data={"version": linked_contact.version, "confirmed": "1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/contacts/")
    db.session.expire_all()
    assert db.session.get(Contact, contact_id) is None
    assert count(db, FollowUp) == 0
    assert count(db, Interaction) == 0
    assert count(db, Participation) == 0
    assert count(db, Membership) == 0
    assert db.session.scalar(db.select(Gift.contact_id)) is None


def test_contact_nothing_links_to_is_deleted_at_once(client, editor, make_contact, db):
    contact = make_contact()
    response = client.post(f"/contacts/{contact.id}/delete", data={"version": contact.version})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact.id) is None


@pytest.mark.parametrize("confirmed", ["1", ""], ids=["confirmed", "first-post"])
def test_stale_version_is_refused_and_nothing_deleted(
    client, editor, linked_contact, db, confirmed
):
    response = client.post(
        f"/contacts/{linked_contact.id}/delete",
        data={"version": linked_contact.version - 1, "confirmed": confirmed},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/contacts/{linked_contact.id}")
    db.session.expire_all()
    assert db.session.get(Contact, linked_contact.id) is not None
    assert count(db, FollowUp) == 1


@pytest.mark.parametrize("confirmed", ["1", ""], ids=["confirmed", "first-post"])
def test_viewer_may_not_delete(client, login_as, linked_contact, db, confirmed):
    login_as("viewer")
    response = client.post(
        f"/contacts/{linked_contact.id}/delete",
        data={"version": linked_contact.version, "confirmed": confirmed},
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Contact, linked_contact.id) is not None
