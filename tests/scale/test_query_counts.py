"""A page's query count does not grow with its rows (no N+1): 5 rows cost what 50 cost."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from crm.contacts.models import Contact, Membership
from crm.events.models import Event, EventCountry, Participation, ProgrammeItem
from crm.organisations.models import Organisation
from crm.tags import Tag

OSLO = ZoneInfo("Europe/Oslo")


def build(db, n: int, user) -> dict:
    """n rows of everything, each row with the relations its page shows."""
    tags = [Tag(name="eu"), Tag(name="kultur")]
    hub = Organisation(name="Hub organisation", kind="university", country="NO")
    star = Event(
        title="Star event",
        kind="delegation",
        visibility="public",
        starts_at=dt.datetime(2031, 5, 1, 9, tzinfo=OSLO),
        ends_at=dt.datetime(2031, 5, 2, 17, tzinfo=OSLO),
        responsible=user,
        tags=tags,
    )
    db.session.add_all([hub, star])
    for i in range(n):
        org = Organisation(name=f"Partner {i}", kind="ngo", country="SE", tags=tags)
        contact = Contact(first_name="Åse", last_name=f"Ødegård {i}", nationality="NO", tags=tags)
        contact.memberships = [
            Membership(organisation=org, role="styreleder"),
            Membership(organisation=hub, role="kontaktperson"),
        ]
        start = dt.datetime(2031, 1, 1, 10, tzinfo=OSLO) + dt.timedelta(days=i)
        event = Event(
            title=f"Delegasjon {i}",
            kind="delegation",
            visibility="public",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=3),
            responsible=user,
            tags=tags,
        )
        event.countries = [EventCountry(country="SE"), EventCountry(country="DK")]
        event.participations = [
            Participation(organisation=org, role="host"),
            Participation(organisation=hub, role="partner"),
            Participation(contact=contact, role="delegate"),
        ]
        star.programme.append(
            ProgrammeItem(starts_at=start, title=f"Programme item {i}", place="Rådhuset")
        )
        star.participations.append(Participation(contact=contact, role="guest"))
        db.session.add_all([org, contact, event])
    db.session.commit()
    return {"hub": hub.id, "star": star.id}


PAGES = {
    "events list": lambda ids: "/events/?from=2030-12-01&kind=delegation",
    "contacts list": lambda ids: "/contacts/",
    "organisations list": lambda ids: "/organisations/",
    "organisation page": lambda ids: f"/organisations/{ids['hub']}",
    "event page": lambda ids: f"/events/{ids['star']}",
}


@pytest.mark.parametrize("page", list(PAGES))
def test_query_count_does_not_grow_with_rows(app, db, client, login_as, count_queries, page):
    app.config["PER_PAGE"] = 100  # every row on one page
    user = login_as("coordinator")
    counts = {}
    for n in (5, 50):
        if n == 50:
            # Empty the records (not the user; their children go by ON DELETE CASCADE)
            # and build again, bigger.
            db.session.commit()
            with db.engine.begin() as conn:
                for model in (Event, Contact, Organisation, Tag):
                    conn.execute(model.__table__.delete())
            db.session.expire_all()
        ids = build(db, n, user)
        path = PAGES[page](ids)
        client.get(path)  # warm-up: first-request work is not the page's
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        rows_shown = response.text.count("Ødegård") + response.text.count("Delegasjon ")
        rows_shown += response.text.count("Partner ") + response.text.count("Programme item")
        assert rows_shown >= n, f"{path} shows fewer than {n} rows"
        counts[n] = len(statements)
    assert counts[50] == counts[5], f"{page}: {counts[5]} queries for 5 rows, {counts[50]} for 50"
    assert counts[5] <= 15, f"{page}: {counts[5]} queries"


def build_history(db, n: int) -> int:
    """An organisation with n events (in three of which it takes part twice), n interactions
    and n follow-ups (every other one without a due date); returns its id."""
    from crm.followups.models import FollowUp, Interaction

    org = Organisation(name="Busy partner", kind="ngo", country="SE")
    db.session.add(org)
    for i in range(n):
        day = dt.date(2031, 1, 1) + dt.timedelta(days=i)
        start = dt.datetime.combine(day, dt.time(10), OSLO)
        event = Event(
            title=f"Delegasjon {i}",
            kind="delegation",
            visibility="public",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
        )
        event.participations = [Participation(organisation=org, role="host")]
        if i < 3:
            event.participations.append(Participation(organisation=org, role="sponsor"))
        db.session.add_all(
            [
                event,
                Interaction(kind="met", occurred_on=day, note=f"Partner {i}", organisation=org),
                FollowUp(title=f"Oppfølging {i}", due_on=day if i % 2 else None, organisation=org),
            ]
        )
    db.session.commit()
    return org.id


@pytest.mark.parametrize("query", ["", "?timeline_page=2"])
def test_organisation_page_query_count_does_not_grow_with_its_history(
    db, client, login_as, count_queries, query
):
    """Its events and timeline are cut to a page, and cost the same queries at 3 rows or 60."""
    login_as("coordinator")
    counts = {}
    for n in (3, 60):
        db.session.commit()
        with db.engine.begin() as conn:
            for model in (Event, Organisation):
                conn.execute(model.__table__.delete())
        db.session.expire_all()
        path = f"/organisations/{build_history(db, n)}{query}"
        client.get(path)
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get(path)
        assert response.status_code == 200
        counts[n] = len(statements)
    # 20 events in its list; 25 entries in its timeline, events, interactions and follow-ups
    shown = set(re.findall(r"(?:Delegasjon|Partner|Oppfølging) \d+", response.text))
    assert len(shown) <= 20 + 25, len(shown)
    assert counts[60] == counts[3], f"{counts[3]} queries for 3 rows, {counts[60]} for 60"
    assert counts[3] <= 15, f"{counts[3]} queries"


def build_contact_page(db, n: int) -> int:
    """A contact with n events, n duplicates by name in its organisation (spelled three ways),
    n by address (in its case, or among other addresses), and n other members; returns its id."""
    hub = Organisation(name="Hub organisation", kind="university", country="NO")
    elsewhere = Organisation(name="Elsewhere", kind="ngo", country="SE")
    contact = Contact(first_name="Åse", last_name="Ødegård", email="ase@example.org")
    contact.memberships = [Membership(organisation=hub, role="kontaktperson")]
    db.session.add_all([hub, elsewhere, contact])
    spellings = [("Aase", "Oedegaard"), ("ÅSE", "ØDEGÅRD"), ("Odegard", "Ase")]
    for i in range(n):
        first, last = spellings[i % 3]
        namesake = Contact(first_name=first, last_name=last, email=f"namesake{i}@example.org")
        namesake.memberships = [Membership(organisation=hub)]
        same_address = Contact(first_name="Mail", last_name=f"Twin {i}")
        if i % 2:
            same_address.email = "ASE@Example.org"
        else:
            same_address.email, same_address.other_emails = f"m{i}@x.org", "ase@example.org"
        same_address.memberships = [Membership(organisation=elsewhere)]
        colleague = Contact(first_name="Kari", last_name=f"Nordmann {i}")
        colleague.memberships = [Membership(organisation=hub)]
        start = dt.datetime(2031, 1, 1, 10, tzinfo=OSLO) + dt.timedelta(days=i)
        event = Event(
            title=f"Delegasjon {i}",
            kind="delegation",
            visibility="public",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=3),
        )
        event.participations = [Participation(contact=contact, role="delegate")]
        db.session.add_all([namesake, same_address, colleague, event])
    db.session.commit()
    return contact.id


def test_contact_page_query_count_does_not_grow_with_its_duplicates(
    db, client, login_as, count_queries
):
    """The duplicate notice lists every namesake and shared address at the same query cost."""
    login_as("coordinator")
    counts = {}
    for n in (3, 30):
        db.session.commit()
        with db.engine.begin() as conn:
            for model in (Event, Contact, Organisation):
                conn.execute(model.__table__.delete())
        db.session.expire_all()
        contact_id = build_contact_page(db, n)
        path = f"/contacts/{contact_id}"
        client.get(path)
        db.session.expire_all()
        with count_queries() as statements:
            response = client.get(path)
        assert response.status_code == 200
        assert response.text.count(f"/data/merge/{contact_id}/") == 2 * n
        assert len(set(re.findall(r"Delegasjon \d+", response.text))) == n
        counts[n] = len(statements)
    assert counts[30] == counts[3], f"{counts[3]} queries for 3 duplicates, {counts[30]} for 30"
    assert counts[3] <= 16, f"{counts[3]} queries"
