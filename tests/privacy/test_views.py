"""The privacy pages: who may do what, forms, downloads."""

import json

import pytest
from sqlalchemy import select

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact
from crm.privacy.models import Consent, ContactPrivacy

ADMIN_POSTS = ("restrict", "unrestrict", "export", "erase")


@pytest.fixture
def kari(make_contact):
    return make_contact(first_name="Kari", last_name="Nordmann", email="kari@example.no")


@pytest.mark.parametrize("action", ADMIN_POSTS)
@pytest.mark.parametrize("role", ["viewer", "coordinator"])
def test_only_admins_restrict_export_and_erase(client, login_as, db, kari, role, action):
    login_as(role)
    data = {"reason": "x", "confirm": "y", "fmt": "json"}
    assert client.post(f"/privacy/contacts/{kari.id}/{action}", data=data).status_code == 403
    db.session.expire_all()
    assert db.session.get(Contact, kari.id).email == "kari@example.no"
    assert db.session.get(ContactPrivacy, kari.id) is None


def test_viewer_sees_nothing_of_privacy(client, login_as, kari):
    login_as("viewer")
    assert client.get(f"/privacy/contacts/{kari.id}").status_code == 403
    assert client.get("/privacy/review").status_code == 403
    data = {"purpose": "newsletter", "legal_basis": "consent", "source": "form"}
    assert client.post(f"/privacy/contacts/{kari.id}/consents", data=data).status_code == 403
    page = client.get(f"/contacts/{kari.id}")
    assert "/privacy/contacts/" not in page.text


def test_logged_out_is_sent_to_login(client, kari):
    response = client.get(f"/privacy/contacts/{kari.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_coordinator_records_and_withdraws_consent(client, login_as, db, kari):
    login_as("coordinator")
    page = client.get(f"/contacts/{kari.id}")
    assert f"/privacy/contacts/{kari.id}" in page.text
    privacy = client.get(f"/privacy/contacts/{kari.id}")
    assert privacy.status_code == 200 and "Erase" not in privacy.text  # admins only
    response = client.post(
        f"/privacy/contacts/{kari.id}/consents",
        data={"purpose": "newsletter", "legal_basis": "consent", "source": "signed form"},
    )
    assert response.status_code == 302
    consent = db.session.scalar(select(Consent))
    assert (consent.purpose.value, consent.granted_source) == ("newsletter", "signed form")
    client.post(
        f"/privacy/contacts/{kari.id}/consents/withdraw",
        data={"purpose": "newsletter", "source": "email"},
    )
    db.session.expire_all()
    assert db.session.scalar(select(Consent)).withdrawn_at is not None


def test_consent_without_source_is_a_form_error(client, login_as, db, kari):
    login_as("coordinator")
    response = client.post(
        f"/privacy/contacts/{kari.id}/consents",
        data={"purpose": "newsletter", "legal_basis": "consent", "source": ""},
    )
    assert response.status_code == 422
    assert 'id="source-error"' in response.text
    assert db.session.scalar(select(Consent)) is None


def test_admin_downloads_json_and_csv_exports(client, login_as, db, kari):
    login_as("admin")
    response = client.post(f"/privacy/contacts/{kari.id}/export", data={"fmt": "json"})
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.data)["sections"]["contact"]["email"] == "kari@example.no"
    csv_response = client.post(f"/privacy/contacts/{kari.id}/export", data={"fmt": "csv"})
    assert csv_response.mimetype == "text/csv" and b"kari@example.no" in csv_response.data
    actions = db.session.scalars(select(AuditEntry.action)).all()
    assert actions.count("export") == 2


def test_admin_restricts_then_export_needs_the_data_subject_box(client, login_as, db, kari):
    login_as("admin")
    response = client.post(f"/privacy/contacts/{kari.id}/restrict", data={"reason": "objection"})
    assert response.status_code == 302
    refused = client.post(f"/privacy/contacts/{kari.id}/export", data={"fmt": "json"})
    assert refused.status_code == 302
    allowed = client.post(
        f"/privacy/contacts/{kari.id}/export", data={"fmt": "json", "for_data_subject": "y"}
    )
    assert allowed.status_code == 200
    page = client.get(f"/contacts/{kari.id}")
    assert "restricted" in page.text
    client.post(f"/privacy/contacts/{kari.id}/unrestrict")
    db.session.expire_all()
    assert db.session.get(ContactPrivacy, kari.id).restricted_at is None


def test_erasure_needs_the_confirmation_box(client, login_as, db, kari):
    login_as("admin")
    response = client.post(f"/privacy/contacts/{kari.id}/erase", data={"erase-reason": "request"})
    assert response.status_code == 422 and 'id="erase-confirm-error"' in response.text
    db.session.expire_all()
    assert db.session.get(Contact, kari.id).email == "kari@example.no"
    done = client.post(
        f"/privacy/contacts/{kari.id}/erase",
        data={"erase-reason": "request", "erase-confirm": "y"},
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, kari.id).name == f"Erased contact #{kari.id}"
    search = client.get("/contacts/?q=Nordmann")
    assert "Kari" not in search.text


def test_review_page_lists_flagged_contacts_and_keeps_them(client, login_as, db, kari):
    import datetime as dt

    from crm.privacy.services import run_retention

    kari.created_at = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    db.session.commit()
    run_retention(now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC))
    db.session.commit()
    login_as("admin")
    page = client.get("/privacy/review")
    assert page.status_code == 200 and "Kari Nordmann" in page.text
    assert client.post(f"/privacy/review/{kari.id}/keep").status_code == 302
    assert f'href="/contacts/{kari.id}"' not in client.get("/privacy/review").text


def test_contact_page_escapes_a_hostile_name_in_the_privacy_panel(client, login_as, make_contact):
    evil = make_contact(first_name='"><script>alert(1)</script>', email="e@x.org")
    make_contact(first_name="Other", email="e@x.org")
    login_as("admin")
    page = client.get(f"/contacts/{evil.id}")
    assert "<script>alert(1)</script>" not in page.text


def test_each_label_on_the_page_names_one_field(client, login_as, kari):
    """The restrict and erase forms both ask for a reason: each label points at its own."""
    import re

    login_as("admin")
    page = client.get(f"/privacy/contacts/{kari.id}").text
    ids = re.findall(r'<(?:input|textarea|select)[^>]*\sid="([^"]+)"', page)
    labelled = re.findall(r'<label[^>]*\sfor="([^"]+)"', page)
    assert labelled and all(ids.count(target) == 1 for target in labelled), labelled
    assert {"reason", "erase-reason"} <= set(labelled)
