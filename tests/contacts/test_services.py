"""Contact services: validation, normalisation, search, filters, memberships."""

import datetime as dt

import pytest

from crm.contacts import services
from crm.contacts.models import Contact, Membership
from crm.db import fold
from crm.enums import Language
from crm.errors import ConflictError, ServiceError


@pytest.fixture(autouse=True)
def request_context(app):
    """Services translate their messages, which needs a request's locale."""
    with app.test_request_context():
        yield


def names(stmt, db):
    return [c.name for c in db.session.scalars(stmt)]


def test_create_contact_normalises_fields(db):
    contact = services.create_contact(
        first_name=" Kari ",
        last_name=" Nordmann ",
        email="Kari@Example.ORG",
        other_emails="kari@ntnu.no, k.n@example.org\n\n",
        languages=" nb ,en, EN,  de ",
        preferred_language="nb",
        nationality="no",
        tags="Consulate, NTNU",
    )
    db.session.commit()
    assert contact.name == "Kari Nordmann"
    assert contact.email == "Kari@example.org"
    assert contact.other_emails == "kari@ntnu.no\nk.n@example.org"
    assert contact.all_emails == ["Kari@example.org", "kari@ntnu.no", "k.n@example.org"]
    assert contact.languages == "nb, en, de"
    assert contact.preferred_language is Language.NB
    assert contact.nationality == "NO"
    assert [t.name for t in contact.tags] == ["consulate", "ntnu"]
    assert contact.search_text == fold("Kari Nordmann Kari@example.org")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"last_name": "  "}, "last_name"),
        ({"email": "not-an-address"}, "email"),
        ({"other_emails": "ok@example.org\nbroken@"}, "other_emails"),
        ({"nationality": "XX"}, "nationality"),
        ({"preferred_language": "de"}, "preferred_language"),
        ({"languages": "x" * 201}, "languages"),
        ({"phone": "1" * 51}, "phone"),
    ],
)
def test_bad_contact_fields_are_refused_with_the_field_named(db, fields, field):
    data = {"first_name": "Ola", "last_name": "Nordmann", **fields}
    with pytest.raises(ServiceError) as info:
        services.create_contact(**data)
    assert info.value.field == field
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Contact)) == 0


def test_unknown_field_is_a_programming_error(db):
    with pytest.raises(TypeError):
        services.create_contact(last_name="Nordmann", shoe_size=44)


def test_update_contact_refuses_a_stale_version(db, make_contact):
    contact = make_contact(title="Consul")
    seen = contact.version
    services.update_contact(contact, version=seen, title="Consul General")
    db.session.commit()
    with pytest.raises(ConflictError):
        services.update_contact(contact, version=seen, title="Vice Consul")
    db.session.rollback()
    assert db.session.get(Contact, contact.id).title == "Consul General"


def test_update_without_tags_keeps_tags(db, make_contact):
    contact = make_contact(tags="vip")
    services.update_contact(contact, title="Mayor")
    db.session.commit()
    assert [t.name for t in contact.tags] == ["vip"]
    services.update_contact(contact, tags="")
    db.session.commit()
    assert contact.tags == []


def test_delete_contact_removes_memberships(db, make_contact, make_org):
    contact = make_contact()
    org = make_org()
    services.add_membership(contact, organisation_id=org.id)
    db.session.commit()
    services.delete_contact(contact, version=contact.version)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 0


def test_query_searches_name_email_and_title_ignoring_case_of_norwegian_letters(db, make_contact):
    make_contact(first_name="Åse", last_name="Ødegård", email="ase@example.no")
    make_contact(first_name="Bjørn", last_name="Dæhlie", title="Ærespresident")
    make_contact(first_name="Astrid", last_name="Lindqvist")
    assert names(services.contact_query(q="ØDEGÅRD"), db) == ["Åse Ødegård"]
    assert names(services.contact_query(q="åse"), db) == ["Åse Ødegård"]
    assert names(services.contact_query(q="BJØRN"), db) == ["Bjørn Dæhlie"]
    assert names(services.contact_query(q="ærespres"), db) == ["Bjørn Dæhlie"]
    assert names(services.contact_query(q="@example.no"), db) == ["Åse Ødegård"]
    assert names(services.contact_query(q="%"), db) == []


def test_query_filters(db, make_contact, make_org):
    ntnu = make_org(name="NTNU")
    ase = make_contact(
        first_name="Åse", last_name="Ødegård", nationality="NO", tags="vip", languages="nb, de"
    )
    make_contact(first_name="Hans", last_name="Müller", nationality="DE", languages="den")
    make_contact(first_name="Astrid", last_name="Lindqvist", nationality="SE", languages="sv")
    services.add_membership(ase, organisation_id=ntnu.id)
    db.session.commit()
    assert names(services.contact_query(nationality="de"), db) == ["Hans Müller"]
    assert names(services.contact_query(tag="VIP"), db) == ["Åse Ødegård"]
    assert names(services.contact_query(organisation_id=ntnu.id), db) == ["Åse Ødegård"]
    # "de" is a whole item of the list: "den" does not match it
    assert names(services.contact_query(language="DE"), db) == ["Åse Ødegård"]
    assert names(services.contact_query(language="sv"), db) == ["Astrid Lindqvist"]


def test_add_membership_checks_organisation_and_dates(db, make_contact, make_org):
    contact = make_contact()
    org = make_org()
    with pytest.raises(ServiceError) as unknown:
        services.add_membership(contact, organisation_id=9999)
    assert unknown.value.field == "organisation"
    with pytest.raises(ServiceError) as garbage:
        services.add_membership(contact, organisation_id="abc")
    assert garbage.value.field == "organisation"
    with pytest.raises(ServiceError) as backwards:
        services.add_membership(
            contact,
            organisation_id=org.id,
            starts_on=dt.date(2026, 5, 1),
            ends_on=dt.date(2026, 4, 30),
        )
    assert backwards.value.field == "ends_on"
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 0
    membership = services.add_membership(
        contact, organisation_id=org.id, role=" Rector ", starts_on=dt.date(2020, 1, 1)
    )
    db.session.commit()
    assert (membership.role, membership.organisation.name) == ("Rector", "NTNU")
    services.remove_membership(membership)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count()).select_from(Membership)) == 0


def test_organisation_is_found_by_exact_name_ignoring_case(db, make_org):
    org = make_org(name="Trøndelag fylkeskommune")
    make_org(name="Trøndelag fylkeskommune, Kultur")
    assert services.find_organisation_by_name("TRØNDELAG FYLKESKOMMUNE") == org
    with pytest.raises(ServiceError) as none:
        services.find_organisation_by_name("Trøndelag")
    assert none.value.field == "organisation"
    make_org(name="trøndelag Fylkeskommune", city="Steinkjer")
    with pytest.raises(ServiceError) as several:
        services.find_organisation_by_name("Trøndelag fylkeskommune")
    assert "2" in several.value.message


def test_picked_id_wins_only_while_the_typed_name_matches(db, make_org):
    first = make_org(name="ISFIT", city="Trondheim")
    second = make_org(name="ISFIT", city="Oslo")
    ntnu = make_org(name="NTNU")
    assert services.resolve_organisation(name="isfit", organisation_id=second.id) == second
    assert services.resolve_organisation(name="", organisation_id=str(first.id)) == first
    # the user picked ISFIT, then typed another name: the typed name counts
    assert services.resolve_organisation(name="NTNU", organisation_id=first.id) == ntnu
    with pytest.raises(ServiceError):
        services.resolve_organisation(name="ISFIT", organisation_id="")
