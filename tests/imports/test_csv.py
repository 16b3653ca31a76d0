"""CSV import (parse, map, preview, all-or-nothing import, staging) and safe CSV export."""

import io

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from crm.audit.models import AuditEntry
from crm.contacts.models import Contact, Membership
from crm.errors import ServiceError
from crm.imports import csvfile, services
from crm.imports.models import CsvImport
from crm.organisations.models import Organisation

CONTACTS_NB = (
    "Fornavn;Etternavn;E-post;Telefon;Organisasjon;Rolle;Nasjonalitet;Stikkord\n"
    "Kari;Nordmann;kari@example.no;+47 900 00 000;NTNU;Rådgiver;Norge;vip\n"
    "Astrid;Lindqvist;astrid@example.se;;;;SE;\n"
)


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(
    "value, expected",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+47 900 00 000", "'+47 900 00 000"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Kari", "Kari"),
        ("", ""),
        (None, ""),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_prefixed(value, expected):
    assert csvfile.safe_cell(value) == expected


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("delimiter", [";", ","])
def test_parse_reads_utf8_with_or_without_bom_and_sniffs_the_delimiter(bom, delimiter):
    text = f"Navn{delimiter}By\nØrsta kommune{delimiter}Ørsta\n\n"
    parsed = csvfile.parse(bom + text.encode())
    assert parsed.delimiter == delimiter
    assert parsed.headers == ["Navn", "By"]
    assert parsed.rows == [["Ørsta kommune", "Ørsta"]]


@pytest.mark.parametrize(
    "content",
    [
        "Navn;By\nTromsø;Tromsø\n".encode("latin-1"),
        "Navn;By\nTromsø;Tromsø\n".encode("utf-16"),  # valid UTF-8 bytes, with NULs
        b"Navn;By\nKa\x00ri;Oslo\n",  # no database column holds a NUL
    ],
)
def test_parse_refuses_a_file_that_is_not_utf8_text(content):
    with pytest.raises(ServiceError, match="UTF-8"):
        csvfile.parse(content)


def test_a_broken_quote_is_named_by_its_line_in_the_page_language(app, fresh_locale):
    broken = 'Navn;By\nTromsø;Tromsø\n"Bodø;Bodø\n'.encode()
    with app.test_request_context(), force_locale("nb"), pytest.raises(ServiceError) as refused:
        csvfile.parse(broken)
    assert "linje 3" in refused.value.message and "unexpected" not in refused.value.message


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_parse_refuses_an_empty_file(content):
    with pytest.raises(ServiceError, match="empty"):
        csvfile.parse(content)


def test_mapping_is_guessed_from_norwegian_and_english_headers():
    nb = services.guess_mapping("contacts", ["Fornavn", "Etternavn", "E-post", "Ukjent"])
    en = services.guess_mapping("contacts", ["First name", "Surname", "Email address", "Phone"])
    assert nb == {"0": "first_name", "1": "last_name", "2": "email", "3": ""}
    assert en == {"0": "first_name", "1": "last_name", "2": "email", "3": "phone"}
    orgs = services.guess_mapping("organisations", ["Navn", "Type", "Land", "Nettside"])
    assert orgs == {"0": "name", "1": "kind", "2": "country", "3": "website"}


def test_mapping_needs_a_name_and_each_field_once():
    with pytest.raises(ServiceError, match="Last name or Full name"):
        services.check_mapping("contacts", ["E-post"], {"0": "email"})
    with pytest.raises(ServiceError, match="both mapped"):
        services.check_mapping("contacts", ["A", "B"], {"0": "last_name", "1": "last_name"})


def test_import_creates_contacts_with_memberships_and_converts_values(db, make_org):
    make_org(name="NTNU")
    result = services.import_file("contacts", CONTACTS_NB.encode())
    db.session.commit()
    assert result.count("new") == 2
    kari = db.session.scalar(select(Contact).where(Contact.last_name == "Nordmann"))
    assert kari.nationality == "NO" and kari.phone == "+47 900 00 000"
    assert [(m.organisation.name, m.role) for m in kari.memberships] == [("NTNU", "Rådgiver")]
    assert [t.name for t in kari.tags] == ["vip"]
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "import"))
    assert entry.changes["created"] == [None, 2]


def test_full_name_column_is_split(db):
    content = 'Navn,E-post\nOla Nordmann,ola@example.no\n"Lindqvist, Astrid",a@example.se\n'
    services.import_file("contacts", content.encode())
    names = sorted((c.first_name, c.last_name) for c in db.session.scalars(select(Contact)))
    assert names == [("Astrid", "Lindqvist"), ("Ola", "Nordmann")]


def test_bad_rows_change_nothing_and_each_is_listed_with_its_reason(db, make_org):
    make_org(name="NTNU")
    content = (
        "Fornavn;Etternavn;E-post;Organisasjon;Nasjonalitet\n"
        "Kari;Nordmann;kari@example.no;NTNU;NO\n"
        "Ola;;ola@example.no;;\n"
        "Per;Hansen;not-an-email;;\n"
        "Liv;Berg;;Nowhere Inc;\n"
        "Jon;Dahl;;;Atlantis\n"
    )
    with pytest.raises(services.ImportRefused) as raised:
        services.import_file("contacts", content.encode())
    db.session.rollback()
    bad = {row.line: row.errors for row in raised.value.result.bad_rows}
    assert sorted(bad) == [3, 4, 5, 6]
    assert "Last name" in bad[3][0]
    assert "not-an-email is not a valid email address" in bad[4][0]
    assert "No organisation is called Nowhere Inc" in bad[5][0]
    assert "Nationality" in bad[6][0]
    assert count(db, Contact) == 0
    assert count(db, Membership) == 0


def test_preview_shows_duplicates_and_leaves_the_database_alone(db, make_contact, make_org):
    make_org(name="NTNU")
    make_contact(first_name="Kari", last_name="Nordmann", email="KARI@example.no")
    content = CONTACTS_NB + "Kari;Nordmann;kari@example.no;;;;;\n"
    _parsed, _mapping, result = services.preview_import("contacts", content.encode())
    assert [row.action for row in result.rows] == ["skip", "new", "skip"]
    assert result.rows[0].duplicate_reason == "same email address"
    assert result.rows[0].duplicate_label == "Kari Nordmann"
    assert count(db, Contact) == 1
    assert count(db, AuditEntry) == count(db, AuditEntry)  # nothing was written
    kept = services.import_file("contacts", content.encode(), skip_duplicates=False)
    assert kept.count("new") == 3 and kept.duplicates == 2


def test_a_repeat_within_the_file_is_a_duplicate(db):
    content = "Fornavn;Etternavn;E-post\nKari;Nordmann;kari@example.no\nK;N;Kari@Example.no\n"
    result = services.import_file("contacts", content.encode())
    assert [row.action for row in result.rows] == ["new", "skip"]
    assert count(db, Contact) == 1


def test_organisations_import_with_labels_in_either_language(db, make_org):
    make_org(name="NTNU")
    content = (
        "Navn;Type;Land;By;Nettside\n"
        "Gøteborgs universitet;Universitet;Sverige;Göteborg;www.gu.se\n"
        "Consulate of Germany;consulate;DE;Trondheim;\n"
        "ntnu;University;NO;Trondheim;\n"
    )
    result = services.import_file("organisations", content.encode())
    assert [row.action for row in result.rows] == ["new", "new", "skip"]
    gu = db.session.scalar(select(Organisation).where(Organisation.name.like("G%")))
    assert (gu.kind.value, gu.country, gu.website) == ("university", "SE", "https://www.gu.se")


def upload(client, content: str | bytes, kind="contacts", **extra):
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        "/data/import",
        data={
            "kind": kind,
            "file": (io.BytesIO(data), "people.csv"),
            "skip_duplicates": "y",
            **extra,
        },
        content_type="multipart/form-data",
    )


def test_upload_previews_and_confirm_imports_exactly_the_staged_file(
    client, login_as, db, make_org
):
    make_org(name="NTNU")
    login_as("coordinator")
    response = upload(client, CONTACTS_NB)
    assert response.status_code == 200
    assert "Kari Nordmann" in response.text and "2 to import" in response.text
    staged = db.session.scalar(select(CsvImport))
    assert count(db, Contact) == 0
    confirmed = client.post(f"/data/import/{staged.id}/confirm")
    assert confirmed.status_code == 302
    assert count(db, Contact) == 2
    again = client.post(f"/data/import/{staged.id}/confirm")
    assert again.status_code == 302
    assert count(db, Contact) == 2


def test_remapping_a_column_previews_again(client, login_as, db):
    login_as("coordinator")
    upload(client, "Person;Post\nNordmann;kari@example.no\n")
    staged = db.session.scalar(select(CsvImport))
    assert staged.mapping == {"0": "", "1": ""}  # nothing guessed: refused until mapped
    response = client.post(
        f"/data/import/{staged.id}/mapping", data={"col-0": "last_name", "col-1": "email"}
    )
    assert response.status_code == 200 and "1 to import" in response.text
    db.session.refresh(staged)
    assert staged.mapping == {"0": "last_name", "1": "email"}
    client.post(f"/data/import/{staged.id}/confirm")
    assert db.session.scalar(select(Contact.email)) == "kari@example.no"


def test_upload_with_bad_rows_lists_them_and_offers_no_import(client, login_as, db):
    login_as("coordinator")
    response = upload(client, "Fornavn;Etternavn;E-post\nKari;;kari@example.no\n")
    assert response.status_code == 200
    assert "Nothing can be imported" in response.text
    assert "Last name" in response.text
    staged = db.session.scalar(select(CsvImport))
    refused = client.post(f"/data/import/{staged.id}/confirm")
    assert refused.status_code == 422
    assert count(db, Contact) == 0


def test_upload_of_a_non_utf8_file_is_a_form_error(client, login_as, db):
    login_as("coordinator")
    response = upload(client, "Navn;By\nTromsø;Tromsø\n".encode("cp1252"))
    assert response.status_code == 422
    assert 'id="file-error"' in response.text and "UTF-8" in response.text
    assert count(db, CsvImport) == 0


def test_roles_viewer_cannot_import_coordinator_cannot_export_contacts(client, login_as):
    login_as("viewer")
    assert client.get("/data/import").status_code == 403
    assert upload(client, CONTACTS_NB).status_code == 403
    assert client.post("/data/export/organisations.csv").status_code == 403


def test_coordinator_exports_organisations_but_not_contacts(client, login_as):
    login_as("coordinator")
    assert client.post("/data/export/organisations.csv").status_code == 200
    assert client.post("/data/export/contacts.csv").status_code == 403


def test_someone_elses_staged_upload_is_not_found(client, login_as, db, make_user):
    owner = make_user(role="coordinator")
    staged = services.stage_upload(
        kind="contacts",
        content=b"Etternavn\nNordmann\n",
        filename="x.csv",
        mapping={"0": "last_name"},
        skip_duplicates=True,
        user_id=owner.id,
    )
    db.session.commit()
    login_as("coordinator")
    assert client.post(f"/data/import/{staged.id}/confirm").status_code == 404
    assert count(db, Contact) == 0


def test_contacts_export_is_safe_translated_and_leaves_out_sensitive_and_restricted(
    client, login_as, db, make_contact, make_org
):
    from crm.privacy.services import restrict_contact

    make_contact(
        first_name="=cmd|' /C calc'!A0",
        last_name="Nordmann",
        phone="+47 900",
        dietary_needs="halal",
    )
    hidden = make_contact(first_name="Secret", last_name="Person")
    restrict_contact(hidden, reason="contested")
    db.session.commit()
    login_as("admin")
    response = client.post("/data/export/contacts.csv", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    assert response.data.startswith(b"\xef\xbb\xbf")
    text = response.data.decode("utf-8-sig")
    header = text.splitlines()[0]
    assert header.startswith("First name,Last name,Title,Email")
    assert "'=cmd" in text and "'+47 900" in text
    assert "halal" not in text and "Secret" not in text
    with force_locale("nb"):
        nb = services.export_contacts(delimiter=";")
    assert nb.lstrip("\ufeff").startswith("Fornavn;Etternavn")
    exports = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "export")
    assert db.session.scalar(exports) == 2


def test_an_exported_file_imports_again(client, login_as, db, make_org, make_contact):
    org = make_org(name="NTNU")
    contact = make_contact(first_name="Kari", last_name="Nordmann", phone="+47 900", email="k@x.no")
    from crm.contacts.services import add_membership

    add_membership(contact, organisation_id=org.id, role="Adviser")
    db.session.commit()
    text = services.export_contacts(delimiter=";")
    db.session.delete(contact)
    db.session.commit()
    services.import_file("contacts", text.encode())
    again = db.session.scalar(select(Contact))
    assert (again.name, again.phone, again.email) == ("Kari Nordmann", "+47 900", "k@x.no")
    assert [m.role for m in again.memberships] == ["Adviser"]


def test_cli_imports_with_a_progress_bar_and_refuses_bad_files(runner, db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("Fornavn;Etternavn\nKari;Nordmann\nOla;Hansen\n", encoding="utf-8-sig")
    result = runner.invoke(args=["crm", "import-csv", str(good), "--kind", "contacts"])
    assert result.exit_code == 0, result.output
    assert "Importing" in result.output and "Imported: 2 new" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("Fornavn;Etternavn\nKari;\n", encoding="utf-8")
    result = runner.invoke(args=["crm", "import-csv", str(bad), "--kind", "contacts"])
    assert result.exit_code == 1
    assert "line 2: Last name" in result.output  # the language of the test's request context
    assert count(db, Contact) == 2


def test_cli_exports_organisations(runner, db, make_org, tmp_path):
    make_org(name="=EVIL()")
    out = tmp_path / "orgs.csv"
    result = runner.invoke(
        args=["crm", "export-csv", "--kind", "organisations", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"'=EVIL()" in data


def test_ten_thousand_rows_import_in_one_go(db, make_org):
    make_org(name="NTNU")
    lines = ["Fornavn;Etternavn;E-post;Organisasjon"]
    lines += [f"Person{i};Hansen{i};p{i}@example.org;NTNU" for i in range(10_000)]
    ticks = []
    result = services.import_file(
        "contacts", "\n".join(lines).encode(), progress=lambda n: ticks.append(n)
    )
    db.session.commit()
    assert result.count("new") == 10_000 and len(ticks) == 10_000
    assert count(db, Contact) == 10_000
    assert count(db, Membership) == 10_000


def test_cli_dry_run_lists_bad_rows_and_saves_nothing(runner, db, tmp_path):
    path = tmp_path / "contacts.csv"
    path.write_text("Etternavn;E-post\nNordmann;kari@example.no\nHansen;nope\n", encoding="utf-8")
    result = runner.invoke(args=["crm", "import-csv", str(path), "--kind", "contacts", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "line 3" in result.output and "Would import: 1 new" in result.output
    assert count(db, Contact) == 0


def test_a_file_with_nothing_to_import_says_so_and_offers_no_import(client, login_as, db):
    login_as("coordinator", locale="en")
    response = upload(client, "first_name;last_name;email\n")  # the header alone
    assert response.status_code == 200
    assert "Nothing in this file to import." in response.text
    assert "/confirm" not in response.text
    assert "Nothing in this file to import." not in upload(client, CONTACTS_NB).text
