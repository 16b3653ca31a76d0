"""Visitor briefing and the printable programme (HTML and PDF, in Norwegian and English)."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest

from crm.events.services import update_event
from crm.followups.services import add_interaction, create_followup
from crm.protocol import services

OSLO = ZoneInfo("Europe/Oslo")
MONDAY = dt.date(2027, 5, 17)


def at(hour, day=MONDAY):
    return dt.datetime.combine(day, dt.time(hour), OSLO)


@pytest.fixture
def visit(make_event, make_contact, make_org, db):
    guest = make_contact(
        first_name="Anna",
        last_name="Berg",
        title="Deputy mayor",
        languages="sv, en",
        dietary_needs="Vegetarian",
        access_needs="Step-free access",
    )
    org = make_org(name="Göteborgs stad", kind="twin_city", country="SE")
    earlier = make_event(title="Earlier visit", starts_at=at(10, dt.date(2025, 9, 1)))
    update_event(earlier, participations=[{"contact_id": guest.id, "role": "delegate"}])
    event = make_event(
        title="Delegation from Gothenburg",
        starts_at=at(9),
        ends_at=at(17, MONDAY + dt.timedelta(days=1)),
        programme=[
            {
                "title": "Welcome at City Hall",
                "starts_at": at(9),
                "ends_at": at(10),
                "place": "Rådhuset",
            },
            {
                "title": "Harbour tour",
                "starts_at": at(10, MONDAY + dt.timedelta(days=1)),
                "ends_at": at(12, MONDAY + dt.timedelta(days=1)),
                "place": "Brattøra",
            },
        ],
        participations=[
            {"contact_id": guest.id, "role": "delegate"},
            {"organisation_id": org.id, "role": "partner"},
        ],
    )
    services.update_item_detail(event.programme[0], interpreter="Li Wei", address="Munkegata 1")
    add_interaction(
        kind="called", occurred_on=dt.date(2027, 4, 2), note="Agreed the dates", contact_id=guest.id
    )
    create_followup(title="Send the signed letter", contact_id=guest.id)
    db.session.commit()
    return event


def test_briefing_shows_visitors_history_programme_and_open_followups(client, login_as, visit):
    login_as("viewer", locale="en")
    page = client.get(f"/events/{visit.id}/briefing")
    assert page.status_code == 200
    text = page.text
    assert text.count("<h1") == 1
    for expected in (
        "Anna Berg",
        "Deputy mayor",
        "sv, en",
        "Vegetarian",
        "Step-free access",
        "Earlier visit",
        "Agreed the dates",
        "Welcome at City Hall",
        "Munkegata 1",
        "Li Wei",
        "Send the signed letter",
        "Göteborgs stad",
        "protocol-print.css",
    ):
        assert expected in text, expected


def test_printable_programme_in_both_languages(client, login_as, visit):
    login_as("viewer", locale="en")
    nb = client.get(f"/events/{visit.id}/programme/print?lang=nb")
    en = client.get(f"/events/{visit.id}/programme/print?lang=en")
    assert '<html lang="nb">' in nb.text and '<html lang="en">' in en.text
    assert "Program: Delegation from Gothenburg" in nb.text and "mandag" in nb.text
    assert "Programme: Delegation from Gothenburg" in en.text and "Monday" in en.text
    assert "Welcome at City Hall" in en.text and "Harbour tour" in en.text


@pytest.mark.parametrize(
    "lang, heading, weekday", [("nb", "Program:", "mandag"), ("en", "Programme:", "Monday")]
)
def test_programme_pdf_in_both_languages(
    needs_pdf, client, login_as, visit, lang, heading, weekday
):
    from pypdf import PdfReader

    login_as("viewer", locale="en")
    response = client.get(f"/events/{visit.id}/programme.pdf?lang={lang}")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    data = response.get_data()
    assert data.startswith(b"%PDF")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert heading in text and weekday in text
    assert "Welcome at City Hall" in text and "Li Wei" in text


def test_event_page_links_briefing_and_pdfs(client, login_as, visit):
    login_as("viewer", locale="en")
    page = client.get(f"/events/{visit.id}").text
    assert f"/events/{visit.id}/briefing" in page
    assert f"/events/{visit.id}/programme.pdf?lang=nb" in page
    assert f"/events/{visit.id}/programme.pdf?lang=en" in page
