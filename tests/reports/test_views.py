"""The dashboard, the CSV exports and the annual report (page and PDF)."""

import csv
import io
import re

import pytest

from crm.imports.csvfile import BOM


def csv_rows(response) -> list[list[str]]:
    """A CSV response read back as Excel would: UTF-8 with BOM, `;` between cells."""
    raw = response.get_data()
    assert raw.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))


def test_dashboard_needs_login(client):
    response = client.get("/reports/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ["viewer", "coordinator", "admin"])
def test_every_role_sees_the_dashboard(client, login_as, role):
    login_as(role)
    response = client.get("/reports/")
    assert response.status_code == 200
    assert 'aria-current="page"' in response.text and "/reports/" in response.text


def test_dashboard_shows_both_periods_and_links_to_the_records(client, login_as, dataset):
    login_as("viewer")
    response = client.get("/reports/?from=2025-01-01&to=2025-12-31")
    html = response.text
    assert response.status_code == 200
    # key figures: 3 events now, 1 the year before, +200 %
    assert re.search(r"Events</a></th>\s*<td[^>]*>3</td>\s*<td[^>]*>1</td>", html) or re.search(
        r"Arrangementer</a></th>\s*<td[^>]*>3</td>\s*<td[^>]*>1</td>", html
    )
    assert "+200" in html
    assert "/events/?kind=delegation&amp;country=DE&amp;from=2025-01-01&amp;to=2025-12-31" in html
    assert "/organisations/?kind=consulate" in html
    assert f"/organisations/{dataset.t4.id}" in html  # an inactive twin city, linked
    assert "data-report-chart=" in html and "<script>" not in html


def test_chart_data_is_in_an_attribute_that_matches_the_table(client, login_as, dataset):
    import html as htmllib
    import json

    login_as("viewer")
    page = client.get("/reports/?from=2025-01-01&to=2025-12-31").text
    specs = [
        json.loads(htmllib.unescape(s)) for s in re.findall(r'data-report-chart="([^"]*)"', page)
    ]
    delegations = next(
        s for s in specs if s.get("horizontal") and len(s["datasets"][0]["data"]) == 2
    )
    assert delegations["datasets"][0]["data"] == [2, 1]


def test_bad_dates_show_a_message_and_this_year(client, login_as, dataset):
    login_as("viewer")
    response = client.get("/reports/?from=2025-02-30")
    assert response.status_code == 400
    assert 'role="alert"' in response.text
    assert 'aria-invalid="true"' in response.text


@pytest.mark.parametrize(
    ("locale", "texts"),
    [
        ("nb", ["Indikatorer for internasjonal aktivitet", "Delegasjoner mottatt per land"]),
        ("en", ["Indicators of international activity", "Delegations received by country"]),
    ],
)
def test_dashboard_in_english_and_norwegian(client, login_as, dataset, locale, texts):
    login_as("viewer", locale=locale)
    page = client.get("/reports/").text
    assert f'lang="{locale}"' in page
    for text in texts:
        assert text in page


def test_csv_reads_back_with_aeoeaa_and_translated_headers(client, login_as, dataset):
    login_as("viewer")
    response = client.get("/reports/top-partners.csv?from=2025-01-01&to=2025-12-31")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == ["Organisasjon", "Type", "Felles arrangementer"]
    assert ["Göteborg", "Vennskapsby", "1"] in rows
    dormant = csv_rows(client.get("/reports/dormant.csv?from=2025-01-01&to=2025-12-31"))
    assert ["Ålesund-partner"] in dormant


def test_every_table_exports(client, login_as, dataset):
    from crm.reports.csvexport import TABLES

    login_as("viewer")
    for name in TABLES:
        response = client.get(f"/reports/{name}.csv?from=2025-01-01&to=2025-12-31")
        assert response.status_code == 200, name
        assert len(csv_rows(response)) >= 2, name


def test_delegations_csv_has_the_figures(client, login_as, dataset):
    login_as("viewer")
    rows = csv_rows(client.get("/reports/delegations.csv?from=2025-01-01&to=2025-12-31"))
    assert rows[1][1:] == ["DE", "2"] and rows[2][1:] == ["SE", "1"]


def test_csv_cells_are_safe_against_formula_injection(client, login_as, make_org, make_event):
    evil = make_org(name='=HYPERLINK("http://x")', kind="ngo")
    plus = make_org(name="+47 Partner", kind="ngo")
    make_event(
        title="Møte",
        participations=[{"organisation_id": evil.id}, {"organisation_id": plus.id}],
    )
    login_as("viewer")
    rows = csv_rows(client.get("/reports/top-partners.csv"))
    names = {row[0] for row in rows[1:]}
    assert names == {'\'=HYPERLINK("http://x")', "'+47 Partner"}


def test_unknown_table_is_404_and_bad_dates_400(client, login_as):
    login_as("viewer")
    assert client.get("/reports/secrets.csv").status_code == 404
    response = client.get("/reports/kinds.csv?from=2025-05-01&to=2025-01-01")
    assert response.status_code == 400
    assert response.text


def test_annual_report_page_is_printable(client, login_as, dataset):
    login_as("viewer")
    response = client.get("/reports/annual/2025")
    assert response.status_code == 200
    html = response.text
    assert html.count("<h1") == 1
    assert "Nyttårsdelegasjon" in html and "Første delegasjon" not in html
    assert "<svg" in html and "reports.css" in html


def test_annual_report_pdf_has_the_years_figures(needs_pdf, client, login_as, dataset):
    from pypdf import PdfReader

    login_as("viewer")
    response = client.get("/reports/annual/2025.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    data = response.get_data()
    assert data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    text = " ".join(text.split())
    assert "2025" in text
    assert "Nyttårsdelegasjon" in text and "Kongress om hav" in text
    assert "Første delegasjon" not in text  # 00:30 on 1 January 2026 is next year's
    assert "115" in text and "128" in text  # expected and counted visitors
    assert "Tysklands konsulat" in text


def test_annual_report_for_an_absurd_year_is_404(client, login_as):
    login_as("viewer")
    assert client.get("/reports/annual/99999").status_code == 404


def test_annual_report_lists_the_first_events_and_says_so(client, login_as, dataset, monkeypatch):
    from crm.reports import views

    monkeypatch.setattr(views, "ANNUAL_EVENT_LIMIT", 2)
    login_as("viewer", locale="en")
    html = client.get("/reports/annual/2025").text
    assert "Kongress om hav" in html and "Sommerbesøk" in html
    assert "Nyttårsdelegasjon" not in html  # the third event of the year
    assert "The first 2 events are listed here" in html
    assert "3 events in 2025" in html


def test_annual_report_lists_the_years_gifts(client, login_as, db, app):
    import datetime as dt

    from crm.protocol.services import create_gift

    with app.test_request_context():
        create_gift(
            description="Nidaros Cathedral in silver",
            direction="given",
            given_on=dt.date(2025, 5, 17),
            giver="The mayor",
            recipient="Mayor of Darmstadt",
            value="1 250",
        )
        create_gift(
            description="Last year's vase", direction="received", given_on=dt.date(2024, 12, 31)
        )
    db.session.commit()
    login_as("viewer", locale="en")
    page = client.get("/reports/annual/2025").text
    assert "Gifts given and received" in page
    assert "Nidaros Cathedral in silver" in page and "Mayor of Darmstadt" in page
    assert ">1,250.00<" in page
    assert "Last year&#39;s vase" not in page and "Last year's vase" not in page
    assert "No gifts were registered" in client.get("/reports/annual/2023").text
