"""The bench data generator: deterministic, realistic, and its data renders."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.bench_data import CONSULATE_COUNTRIES, TWIN_CITIES, generate
from crm.calendars.models import EventIcal
from crm.contacts.models import Contact, Membership
from crm.db import fold
from crm.enums import OrganisationKind
from crm.errors import ServiceError
from crm.events.models import Event, EventCountry, Participation, ProgrammeItem
from crm.followups.models import FollowUp, Interaction
from crm.organisations.models import Organisation
from crm.tags import contact_tag, event_tag, organisation_tag

ANCHOR = dt.date(2026, 6, 1)
SMALL = {"organisations": 40, "contacts": 120, "events": 60, "anchor": ANCHOR}


def snapshot(db) -> dict:
    """Every generated row's content, in id order."""
    tables = {
        "organisation": select(Organisation.name, Organisation.kind, Organisation.country,
                               Organisation.represented_country, Organisation.twin_city_category,
                               Organisation.search_text, Organisation.created_at)
        .order_by(Organisation.id),
        "contact": select(Contact.first_name, Contact.last_name, Contact.email,
                          Contact.nationality, Contact.search_text).order_by(Contact.id),
        "membership": select(Membership.contact_id, Membership.organisation_id,
                             Membership.role, Membership.starts_on).order_by(Membership.id),
        "event": select(Event.uid, Event.title, Event.kind, Event.status, Event.starts_at,
                        Event.ends_at, Event.start_on, Event.search_text).order_by(Event.id),
        "programme": select(ProgrammeItem.event_id, ProgrammeItem.title,
                            ProgrammeItem.starts_at).order_by(ProgrammeItem.id),
        "participation": select(Participation.event_id, Participation.organisation_id,
                                Participation.contact_id, Participation.role)
        .order_by(Participation.id),
        "country": select(EventCountry.event_id, EventCountry.country)
        .order_by(EventCountry.event_id, EventCountry.country),
        "tags": select(func.count()).select_from(event_tag),
    }  # fmt: skip
    return {name: db.session.execute(stmt).all() for name, stmt in tables.items()}


def empty_tables(db):
    db.session.remove()
    with db.engine.begin() as conn:  # Core, as the conftest's teardown does
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def test_same_seed_gives_the_same_data_and_another_seed_other_data(db):
    generate(seed=7, **SMALL)
    db.session.commit()
    first = snapshot(db)
    empty_tables(db)
    generate(seed=7, **SMALL)
    db.session.commit()
    second = snapshot(db)
    empty_tables(db)
    generate(seed=8, **SMALL)
    db.session.commit()
    other = snapshot(db)

    def content(snap):  # without ids, which a sequence does not reset
        return {k: [tuple(v for v in row if not isinstance(v, int)) for row in rows]
                for k, rows in snap.items()}  # fmt: skip

    assert content(first) == content(second)
    assert content(first)["event"] != content(other)["event"]
    assert len(first["organisation"]) == 40
    assert len(first["contact"]) == 120
    assert len(first["event"]) == 60


def test_data_set_is_realistic(db):
    counts = generate(seed=1, organisations=60, contacts=300, events=200, anchor=ANCHOR)
    db.session.commit()
    kinds = dict(
        db.session.execute(
            select(Organisation.kind, func.count()).group_by(Organisation.kind)
        ).all()
    )
    assert kinds[OrganisationKind.CONSULATE] == 22
    assert kinds[OrganisationKind.TWIN_CITY] == len(TWIN_CITIES)
    assert set(kinds) == set(OrganisationKind)  # every kind, with 60 organisations
    represented = db.session.scalars(
        select(Organisation.represented_country).where(
            Organisation.represented_country.is_not(None)
        )
    ).all()
    assert sorted(represented) == sorted(CONSULATE_COUNTRIES)
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Organisation)
            .where(
                Organisation.kind == OrganisationKind.TWIN_CITY,
                Organisation.twin_city_category.is_(None),
            )
        )
        == 0
    )
    names = " ".join(db.session.scalars(select(Contact.last_name)))
    assert any(letter in names for letter in "æøåÆØÅ")
    languages = set(db.session.scalars(select(Contact.preferred_language).distinct()))
    assert {lang.value for lang in languages} == {"nb", "en"}
    assert counts.memberships > 150
    assert db.session.scalar(select(func.count()).select_from(contact_tag)) > 0
    assert db.session.scalar(select(func.count()).select_from(organisation_tag)) > 0
    # Five years around the anchor, past events done or cancelled, future ones not.
    first, last = db.session.execute(
        select(func.min(Event.starts_at), func.max(Event.starts_at))
    ).one()
    assert (last - first).days > 3 * 365
    assert first.date() >= ANCHOR - dt.timedelta(days=4 * 365 + 1)
    past = db.session.scalars(
        select(Event.status).where(Event.ends_at < dt.datetime(2026, 5, 1, tzinfo=dt.UTC))
    )
    assert {s.value for s in past} <= {"done", "cancelled"}
    assert db.session.scalar(select(func.count()).select_from(ProgrammeItem)) > 0
    assert db.session.scalar(select(func.count()).select_from(EventCountry)) >= 200
    all_day = db.session.scalars(select(Event).where(Event.is_all_day)).first()
    assert (
        all_day is not None and all_day.start_on is not None and all_day.end_on >= all_day.start_on
    )
    assert counts.follow_ups > 0 and counts.interactions > 0
    assert db.session.scalar(select(func.count()).select_from(FollowUp)) == counts.follow_ups
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == counts.interactions
    # Every event has the cached VEVENT that feeds are assembled from.
    assert db.session.scalar(select(func.count()).select_from(EventIcal)) == 200
    # search_text is what the before_flush hook would have written.
    contact = db.session.scalars(select(Contact).limit(1)).one()
    assert contact.search_text == fold(
        f"{contact.first_name} {contact.last_name} {contact.email} {contact.title}"
    )


def test_search_finds_generated_contacts_with_any_case(db):
    generate(seed=3, organisations=5, contacts=50, events=0, anchor=ANCHOR)
    db.session.commit()
    contact = db.session.scalars(select(Contact).order_by(Contact.id)).first()
    from crm.db import like_pattern

    found = db.session.scalars(
        select(Contact.id).where(
            Contact.search_text.like(like_pattern(contact.last_name.upper()), escape="\\")
        )
    ).all()
    assert contact.id in found


@pytest.mark.parametrize(
    "sizes, field",
    [
        ({"organisations": -1, "contacts": 0, "events": 0}, "organisations"),
        ({"organisations": 0, "contacts": 5, "events": 0}, "organisations"),
    ],
)
def test_bad_sizes_are_refused_and_write_nothing(db, sizes, field):
    with pytest.raises(ServiceError) as error:
        generate(**sizes)
    assert error.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_cli_generates_and_pages_render(app, runner, db, client, login_as):
    result = runner.invoke(
        args=["crm", "bench-data", "--organisations", "30", "--contacts", "80", "--events", "40",
              "--seed", "5", "--anchor", "2026-06-01"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "30 organisations, 80 contacts" in result.output
    login_as("viewer")
    org = db.session.scalar(select(Organisation).where(Organisation.name == "NTNU"))
    assert client.get("/organisations/").status_code == 200
    page = client.get(f"/organisations/{org.id}")
    assert page.status_code == 200 and "NTNU" in page.text
    assert client.get("/").status_code == 200
    for path in ("/contacts/", "/events/"):
        response = client.get(path)
        assert response.status_code in (200, 404), path  # 404 while that page is a stub
    event = db.session.scalars(select(Event).limit(1)).one()
    response = client.get(f"/events/{event.id}")
    assert response.status_code in (200, 404)


def test_cli_refuses_negative_sizes(runner):
    result = runner.invoke(args=["crm", "bench-data", "--organisations", "-3"])
    assert result.exit_code != 0
    assert "-3" in result.output
