"""The audit trail records creates, updates and deletes with old → new, and is append-only."""

import pytest
from sqlalchemy import delete, select, update

from crm.audit import services as audit
from crm.audit.models import AuditEntry
from crm.audit.services import HIDDEN, AuditError
from crm.organisations.services import delete_organisation, update_organisation


def entries(db, **filters) -> list[AuditEntry]:
    stmt = select(AuditEntry).filter_by(**filters).order_by(AuditEntry.id)
    return list(db.session.scalars(stmt))


def test_create_is_recorded_with_the_new_values(db, make_org):
    org = make_org(name="NTNU", city="Trondheim", tags="research, eu")
    (entry,) = entries(db, object_type="organisation", action="create")
    assert entry.object_id == org.id
    assert entry.object_label == "NTNU"
    assert entry.changes["name"] == [None, "NTNU"]
    assert entry.changes["kind"] == [None, "university"]
    assert entry.changes["tags"] == [[], ["eu", "research"]]
    assert entry.actor == "system" and entry.user_id is None
    assert not {"search_text", "version", "created_at", "updated_at"} & set(entry.changes)


def test_update_records_only_changed_fields_old_to_new(db, make_org):
    org = make_org(city="Trondheim")
    update_organisation(org, city="Oslo", name=org.name)
    db.session.commit()
    (entry,) = entries(db, object_type="organisation", action="update")
    assert entry.changes == {"city": ["Trondheim", "Oslo"]}


def test_tag_only_change_is_recorded(db, make_org):
    org = make_org(tags="research")
    update_organisation(org, tags="research, students")
    db.session.commit()
    (entry,) = entries(db, object_type="organisation", action="update")
    assert entry.changes == {"tags": [["research"], ["research", "students"]]}


def test_saving_without_changes_records_nothing(db, make_org):
    org = make_org()
    update_organisation(org, name=org.name, city=org.city)
    db.session.commit()
    assert entries(db, action="update") == []


def test_delete_is_recorded_with_the_old_values_and_cascades(db, make_org, make_contact):
    from crm.contacts.models import Membership

    org = make_org(name="Chalmers")
    contact = make_contact()
    db.session.add(Membership(contact_id=contact.id, organisation_id=org.id, role="Dean"))
    db.session.commit()
    org_id = org.id
    db.session.expire_all()
    delete_organisation(db.session.get(type(org), org_id))
    db.session.commit()
    (entry,) = entries(db, object_type="organisation", action="delete")
    assert entry.object_id == org_id
    assert entry.changes["name"] == ["Chalmers", None]
    (membership,) = entries(db, object_type="membership", action="delete")
    assert membership.changes["role"] == ["Dean", None]


def test_sensitive_values_are_hidden(db, make_contact):
    contact = make_contact(dietary_needs="halal", access_needs="wheelchair", notes="private")
    contact.dietary_needs = "kosher"
    contact.access_needs = ""
    contact.title = "Consul"
    db.session.commit()
    created, updated = entries(db, object_type="contact")
    assert created.changes["dietary_needs"] == [None, HIDDEN]
    assert created.changes["notes"] == [None, HIDDEN]
    assert updated.changes == {
        "dietary_needs": [HIDDEN, HIDDEN],
        "access_needs": [HIDDEN, ""],
        "title": ["", "Consul"],
    }
    raw = str([e.changes for e in entries(db)])
    for secret in ("halal", "kosher", "wheelchair", "private"):
        assert secret not in raw


def test_password_and_token_hashes_are_hidden(db, make_user):
    from crm.auth.services import create_api_token, set_password

    user = make_user()
    old_hash = user.password_hash
    set_password(user, "another-long-password")
    create_api_token(user, name="laptop")
    db.session.commit()
    (update_entry,) = entries(db, object_type="user", action="update")
    assert update_entry.changes == {"password_hash": [HIDDEN, HIDDEN]}
    (token_entry,) = entries(db, action="token_create")
    assert token_entry.object_type == "api_token"
    raw = str([e.changes for e in entries(db)]) + str([e.object_label for e in entries(db)])
    assert old_hash not in raw and user.password_hash not in raw


def test_token_revoke_is_recorded(db, make_user):
    from crm.auth.models import ApiToken
    from crm.auth.services import create_api_token, revoke_api_token

    user = make_user()
    create_api_token(user, name="laptop")
    token = db.session.scalar(select(ApiToken))
    revoke_api_token(token.id, user)
    db.session.commit()
    (entry,) = entries(db, action="token_revoke")
    assert entry.object_id == token.id and "laptop" in entry.object_label


def test_entries_cannot_be_changed(db, make_org):
    make_org()
    entry = entries(db)[0]
    entry.changes = {"name": ["forged", "forged"]}
    with pytest.raises(AuditError):
        db.session.commit()
    db.session.rollback()
    assert entries(db)[0].changes["name"] == [None, "NTNU"]


def test_entries_cannot_be_deleted(db, make_org):
    make_org()
    db.session.delete(entries(db)[0])
    with pytest.raises(AuditError):
        db.session.commit()
    db.session.rollback()
    assert len(entries(db)) == 1


@pytest.mark.parametrize(
    "statement",
    [update(AuditEntry).values(actor="someone else"), delete(AuditEntry)],
    ids=["update", "delete"],
)
def test_bulk_statements_on_entries_are_refused(db, make_org, statement):
    make_org()
    with pytest.raises(AuditError):
        db.session.execute(statement)
    db.session.rollback()
    assert entries(db)[0].actor == "system"


def test_explicit_record_for_exports_and_merges(db, make_contact):
    contact = make_contact()
    audit.record("export", contact, changes={"format": [None, "csv"]})
    db.session.commit()
    (entry,) = entries(db, action="export")
    assert entry.object_type == "contact" and entry.object_id == contact.id
    assert entry.object_label == "Astrid Lindqvist"


def test_acting_as_names_the_actor_outside_requests(db, make_org):
    with audit.acting_as("scheduler"):
        make_org()
    assert entries(db)[0].actor == "scheduler"


def test_cli_changes_are_recorded_as_cli(db, runner):
    result = runner.invoke(
        args=["crm", "create-user", "--email", "cli@example.org", "--password", "long-password-1"]
    )
    assert result.exit_code == 0, result.output
    (entry,) = entries(db, object_type="user", action="create")
    assert entry.actor == "cli"
    assert entry.changes["email"] == [None, "cli@example.org"]
    assert entry.changes["password_hash"] == [None, HIDDEN]


def test_redaction_for_an_erasure_removes_the_persons_data_only(db, make_contact):
    contact = make_contact(first_name="Astrid", email="astrid@example.se")
    contact.first_name = "Erased"
    db.session.flush()
    count = audit.redact_object_history("contact", contact.id)
    db.session.commit()
    assert count == 2
    for entry in entries(db, object_type="contact"):
        assert entry.object_label == audit.ERASED
        assert "Astrid" not in str(entry.changes) and "astrid@" not in str(entry.changes)
        assert entry.action in ("create", "update")  # who did what when stays


def test_history_and_entries_for(db, make_org):
    org = make_org()
    update_organisation(org, city="Bergen")
    db.session.commit()
    assert [e.action for e in audit.history(org)] == ["update", "create"]
    assert [e.action for e in audit.entries_for("organisation", org.id)] == ["create", "update"]
