"""Duplicate detection (the name normalisation, email and name-in-organisation rules) and merge."""

import datetime as dt

import pytest
from sqlalchemy import func, insert, select, text

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact, Membership, normalise_name
from crm.contacts.services import add_membership
from crm.errors import ServiceError
from crm.imports.duplicates import duplicates_of, merge_contacts

UTC = dt.UTC


@pytest.mark.parametrize(
    "a, b",
    [
        ("Bjørn Sæther", "bjoern saether"),
        ("Bjørn", "Bjorn"),
        ("Åse Ødegård", "Aase Oedegaard"),
        ("Åse", "Ase"),
        ("Sæther", "SAETHER"),
        ("José Álvarez", "jose alvarez"),
        ("Nordmann Ola", "Ola  Nordmann"),
        ("Anne-Lise Berg", "anne lise berg"),
        ("Müller", "Muller"),
    ],
)
def test_normalised_names_match_across_spellings(a, b):
    assert normalise_name(a) == normalise_name(b)


@pytest.mark.parametrize("a, b", [("Ola Nordmann", "Kari Nordmann"), ("Berg", "Borg"), ("Jan", "")])
def test_different_names_stay_different(a, b):
    assert normalise_name(a) != normalise_name(b)


def test_same_email_in_any_case_or_other_address_is_a_duplicate(make_contact):
    first = make_contact(first_name="Kari", last_name="Nordmann", email="Kari@Example.org")
    second = make_contact(
        first_name="K.", last_name="Other", email="k@x.org", other_emails="kari@example.ORG"
    )
    third = make_contact(first_name="Kari", last_name="Nordmann", email="kari@elsewhere.org")
    assert [d.contact.id for d in duplicates_of(first)] == [second.id]
    assert [d.contact.id for d in duplicates_of(second)] == [first.id]
    assert duplicates_of(third) == []  # same name, but no shared organisation


def test_similar_name_in_the_same_organisation_is_a_duplicate(db, make_contact, make_org):
    ntnu, sintef = make_org(name="NTNU"), make_org(name="SINTEF", kind="research")
    bjorn = make_contact(first_name="Bjørn", last_name="Sæther")
    bjoern = make_contact(first_name="bjoern", last_name="saether")
    elsewhere = make_contact(first_name="Bjorn", last_name="Saether")
    add_membership(bjorn, organisation_id=ntnu.id)
    add_membership(bjoern, organisation_id=ntnu.id)
    add_membership(elsewhere, organisation_id=sintef.id)
    db.session.commit()
    (duplicate,) = duplicates_of(bjorn)
    assert duplicate.contact.id == bjoern.id
    assert duplicate.reasons == ["similar name in the same organisation"]


def test_a_renamed_contact_is_compared_by_its_new_name(db, make_contact, make_org):
    """The stored name key follows every change of name (a rename, an erasure)."""
    from crm.contacts.services import update_contact

    ntnu = make_org(name="NTNU")
    bjorn = make_contact(first_name="Bjørn", last_name="Sæther")
    per = make_contact(first_name="Per", last_name="Hansen")
    for contact in (bjorn, per):
        add_membership(contact, organisation_id=ntnu.id)
    db.session.commit()
    assert duplicates_of(bjorn) == []
    update_contact(per, first_name="Bjoern", last_name="Saether")
    db.session.commit()
    assert [d.contact.id for d in duplicates_of(bjorn)] == [per.id]
    assert per.name_key == "bjorn saether"
    update_contact(per, first_name="Per", last_name="Hansen")
    db.session.commit()
    assert duplicates_of(bjorn) == []


def test_duplicate_check_finds_each_kind_by_index_and_nothing_else(db, make_contact, make_org):
    """The candidates come from indexed lookups now; every rule still finds what it found."""
    from crm.privacy.models import ContactPrivacy

    ntnu, sintef = make_org(name="NTNU"), make_org(name="SINTEF", kind="research")
    me = make_contact(
        first_name="Ærlend",
        last_name="Sæther",
        email="Aerlend@Example.org",
        other_emails="ae@ntnu.no",
    )
    email_case = make_contact(first_name="A", last_name="One", email="AERLEND@example.ORG")
    in_their_others = make_contact(
        first_name="B",
        last_name="Two",
        email="b@x.org",
        other_emails="old@x.org, aerlend@example.org",
    )
    in_my_others = make_contact(first_name="C", last_name="Three", email="AE@ntnu.no")
    spelled_ae = make_contact(first_name="aerlend", last_name="SAETHER")
    both = make_contact(first_name="Saether", last_name="Ærlend", email="aerlend@example.org")
    elsewhere = make_contact(first_name="Ærlend", last_name="Sæther", email="other@x.org")
    substring = make_contact(first_name="D", last_name="Four", other_emails="xae@ntnu.no")
    erased = make_contact(first_name="Ærlend", last_name="Sæther", email="aerlend@example.org")
    for contact, org in [(me, ntnu), (spelled_ae, ntnu), (both, ntnu), (elsewhere, sintef)]:
        add_membership(contact, organisation_id=org.id)
    add_membership(erased, organisation_id=ntnu.id)
    db.session.add(ContactPrivacy(contact_id=erased.id, erased_at=dt.datetime.now(UTC)))
    db.session.commit()

    found = {d.contact.id: d.reasons for d in duplicates_of(me)}

    email, name = "same email address", "similar name in the same organisation"
    assert found == {
        email_case.id: [email],
        in_their_others.id: [email],
        in_my_others.id: [email],
        spelled_ae.id: [name],
        both.id: [email, name],
    }
    assert elsewhere.id not in found and substring.id not in found and erased.id not in found


def _contact_reads_without_an_index(db, statements) -> list[str]:
    """The plan steps that read the contact table whole instead of looking rows up by index
    (reading the partial index of the few contacts with other addresses is fine)."""
    from sqlalchemy import inspect as sa_inspect

    conn = db.session.connection()
    bad = []
    if conn.dialect.name == "sqlite":
        for statement, params in statements:
            for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params):
                detail = row[-1]
                scans_contact = detail.startswith("SCAN contact ") or detail == "SCAN contact"
                if scans_contact and "ix_contact_other_emails" not in detail:
                    bad.append(detail)
        return bad
    contact_indexes = {i["name"] for i in sa_inspect(conn).get_indexes("contact")} | {"pk_contact"}

    def walk(node):
        kind, index = node["Node Type"], node.get("Index Name")
        if kind == "Seq Scan" and node.get("Relation Name") == "contact":
            bad.append(kind)
        partial = index == "ix_contact_other_emails"
        if index in contact_indexes and not partial and "Index Cond" not in node:
            bad.append(f"{kind} on {index} without a condition")
        for child in node.get("Plans", []):
            walk(child)

    for statement, params in statements:
        (plan,) = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar()
        walk(plan["Plan"])
    return bad


def test_duplicate_check_reads_contacts_by_index_not_by_scanning_them(db, make_contact, make_org):
    from sqlalchemy import event as sa_event

    ntnu = make_org(name="NTNU")
    me = make_contact(
        first_name="Åse", last_name="Ødegård", email="Ase@example.org", other_emails="ase@ntnu.no"
    )
    add_membership(me, organisation_id=ntnu.id)
    # Enough people that reading them all costs more than looking a few up.
    db.session.execute(
        insert(Contact),
        [{"last_name": f"Other {i}", "email": f"other{i}@example.org"} for i in range(2000)],
    )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":  # the planner sees the table as it is
        db.session.execute(text("ANALYZE contact, membership, contact_privacy"))
    assert me.all_emails and me.memberships  # loaded before counting
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    sa_event.listen(db.engine, "before_cursor_execute", remember)
    try:
        assert duplicates_of(me) == []
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", remember)
    assert len(statements) == 1  # no match: nothing is loaded
    assert _contact_reads_without_an_index(db, statements) == []


def test_contact_page_warns_about_a_duplicate_with_a_merge_link(client, login_as, make_contact):
    login_as("coordinator")
    kari = make_contact(first_name="Kari", last_name="Nordmann", email="kari@example.org")
    response = client.post(
        "/contacts/new", data={"first_name": "Kari", "last_name": "N", "email": "KARI@example.org"}
    )
    assert response.status_code == 302  # warned, not blocked
    page = client.get(response.headers["Location"])
    new_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert "may be the same person" in page.text
    assert f"/data/merge/{new_id}/{kari.id}" in page.text


def test_viewer_sees_no_duplicate_notice_and_cannot_merge(client, login_as, make_contact):
    a = make_contact(email="same@example.org")
    b = make_contact(email="same@example.org", first_name="Other")
    login_as("viewer")
    assert "may be the same person" not in client.get(f"/contacts/{a.id}").text
    assert client.get(f"/data/merge/{a.id}/{b.id}").status_code == 403
    assert client.post(f"/data/merge/{a.id}/{b.id}").status_code == 403


@pytest.fixture
def pair(db, make_contact, make_org, make_event):
    """Two records of one person, each with memberships, events, mail, consents ..."""
    from crm.calendars.models import Calendar, Subscription
    from crm.events.models import Participation
    from crm.followups.models import FollowUp, Interaction
    from crm.privacy.services import record_consent, withdraw_consent
    from crm.reminders.models import OutboxMessage, RuleKind

    org = make_org(name="NTNU")
    other_org = make_org(name="SINTEF", kind="research")
    kept = make_contact(
        first_name="Kari", last_name="Nordmann", email="kari@example.org", tags="vip"
    )
    other = make_contact(
        first_name="Kari",
        last_name="Nordman",
        email="kari.n@ntnu.no",
        phone="+47 900 00 000",
        tags="ntnu",
    )
    shared = make_event(title="Shared event")
    own = make_event(title="Own event")
    add_membership(kept, organisation_id=org.id, role="Adviser")
    add_membership(other, organisation_id=org.id, role="Adviser")
    add_membership(other, organisation_id=other_org.id, role="Guest researcher")
    db.session.add_all(
        [
            Participation(event_id=shared.id, contact_id=kept.id),
            Participation(event_id=shared.id, contact_id=other.id),
            Participation(event_id=own.id, contact_id=other.id),
            Interaction(contact_id=other.id, occurred_on=dt.date(2026, 5, 1), note="Met"),
            FollowUp(title="Send thanks", contact_id=other.id),
        ]
    )
    calendar = Calendar(slug="partners", name_nb="Partnere", name_en="Partners")
    db.session.add(calendar)
    db.session.flush()
    db.session.add(Subscription(calendar_id=calendar.id, token_hash="h" * 64, contact_id=other.id))
    now = dt.datetime(2026, 5, 1, tzinfo=UTC)
    record_consent(kept, purpose="newsletter", legal_basis="consent", source="form", now=now)
    withdraw_consent(other, purpose="newsletter", source="phone", now=now + dt.timedelta(days=1))
    record_consent(other, purpose="event_reminders", legal_basis="consent", source="form", now=now)
    db.session.add(
        OutboxMessage(
            idempotency_key="k1",
            kind=RuleKind.EVENT_PARTICIPANT,
            recipient_email="kari.n@ntnu.no",
            subject="s",
            body_text="t",
            body_html="h",
            due_at=now,
            next_attempt_at=now,
            contact_id=other.id,
        )
    )
    db.session.commit()
    return kept, other


def _count(db, model, **filters):
    return db.session.scalar(select(func.count()).select_from(model).filter_by(**filters))


def test_merge_moves_everything_to_the_kept_record_and_deletes_the_other(db, pair):
    from crm.calendars.models import Subscription
    from crm.events.models import Participation
    from crm.followups.models import FollowUp, Interaction
    from crm.privacy.models import Consent
    from crm.reminders.models import OutboxMessage, ReminderSubscription

    kept, other = pair
    other_id = other.id
    merge_contacts(kept, other, choices={"phone": "other", "last_name": "kept"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Contact, other_id) is None
    kept = db.session.get(Contact, kept.id)
    assert kept.phone == "+47 900 00 000" and kept.last_name == "Nordmann"
    assert kept.all_emails == ["kari@example.org", "kari.n@ntnu.no"]
    assert [t.name for t in kept.tags] == ["ntnu", "vip"]
    # The same role in the same organisation, and the same event, are kept once.
    assert sorted(m.role for m in kept.memberships) == ["Adviser", "Guest researcher"]
    assert _count(db, Participation, contact_id=kept.id) == 2
    assert _count(db, Interaction, contact_id=kept.id) == 1
    assert _count(db, FollowUp, contact_id=kept.id) == 1
    assert _count(db, Subscription, contact_id=kept.id) == 1
    assert _count(db, OutboxMessage, contact_id=kept.id) == 1
    assert _count(db, ReminderSubscription, contact_id=kept.id) == 1
    consents = {c.purpose.value: c for c in db.session.scalars(select(Consent))}
    assert set(consents) == {"newsletter", "event_reminders"}
    assert all(c.contact_id == kept.id for c in consents.values())
    assert consents["newsletter"].withdrawn_at is not None  # the later decision wins
    for table in ("membership", "participation", "interaction", "follow_up", "consent"):
        assert not db.session.execute(
            select(func.count())
            .select_from(db.metadata.tables[table])
            .where(db.metadata.tables[table].c.contact_id == other_id)
        ).scalar()
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "merge"))
    assert entry.object_id == kept.id
    assert entry.changes["merged_from"][0] == f"Kari Nordman (#{other_id})"


def test_merge_screen_lets_a_coordinator_choose_values(client, login_as, db, pair):
    kept, other = pair
    login_as("coordinator")
    page = client.get(f"/data/merge/{kept.id}/{other.id}")
    assert page.status_code == 200
    assert 'name="phone"' in page.text and "+47 900 00 000" in page.text
    response = client.post(
        f"/data/merge/{kept.id}/{other.id}",
        data={"kept_version": kept.version, "other_version": other.version, "last_name": "other"},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, other.id) is None
    assert db.session.get(Contact, kept.id).last_name == "Nordman"


def test_merge_refuses_a_stale_version_and_changes_nothing(client, login_as, db, pair):
    kept, other = pair
    login_as("coordinator")
    response = client.post(
        f"/data/merge/{kept.id}/{other.id}",
        data={
            "kept_version": kept.version - 1 if kept.version > 1 else 99,
            "other_version": other.version,
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, other.id) is not None
    assert _count(db, Membership, contact_id=other.id) == 2


def test_merging_a_contact_with_itself_is_refused(pair):
    kept, _other = pair
    with pytest.raises(ServiceError):
        merge_contacts(kept, kept)
