"""Browser walk-through: planning a two-day delegation visit with the protocol office's tools."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.conftest import OSLO, office_today
from tests.e2e.conftest import ADMIN_EMAIL, submit, visit


@pytest.fixture
def nb_admin_page(admin_page, live_app):
    """The admin's tab in Norwegian (another test may have switched the admin to English)."""
    from crm.auth.models import User
    from crm.extensions import db

    with live_app.app_context():
        db.session.execute(db.update(User).where(User.email == ADMIN_EMAIL).values(locale="nb"))
        db.session.commit()
    return admin_page


def test_plan_a_two_day_delegation_visit(nb_admin_page, live_app, screenshot):
    from crm.events.services import create_event
    from crm.extensions import db

    page = nb_admin_page
    first = office_today() + dt.timedelta(days=14)
    second = first + dt.timedelta(days=1)
    with live_app.app_context():
        # Another event already holds the council chamber on the first morning.
        create_event(
            title="Bystyremøte",
            kind="meeting",
            starts_at=dt.datetime.combine(first, dt.time(10), OSLO),
            ends_at=dt.datetime.combine(first, dt.time(12), OSLO),
            programme=[
                {
                    "title": "Bystyret",
                    "starts_at": dt.datetime.combine(first, dt.time(10), OSLO),
                    "ends_at": dt.datetime.combine(first, dt.time(12), OSLO),
                    "place": "Bystyresalen",
                }
            ],
        )
        db.session.commit()

    visit(page, "/events/new?kind=delegation")
    page.get_by_label("Tittel", exact=True).fill("Delegasjon fra Vilnius")
    page.locator("#start_date").fill(first.isoformat())
    page.locator("#start_time").fill("09:00")
    page.locator("#end_date").fill(second.isoformat())
    page.locator("#end_time").fill("16:00")
    page.locator("#programme-0-starts_at").fill("09:30")
    page.locator("#programme-0-ends_at").fill("10:30")
    page.locator("#programme-0-title").fill("Velkomst ved ordføreren")
    page.locator("#programme-0-place").fill("Bystyresalen")
    page.locator("#programme-1-on").fill(second.isoformat())
    page.locator("#programme-1-starts_at").fill("10:00")
    page.locator("#programme-1-ends_at").fill("12:00")
    page.locator("#programme-1-title").fill("Havnetur")
    page.locator("#programme-1-place").fill("Brattøra")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Delegasjon fra Vilnius")

    # The clash with the council meeting is flagged on the event page.
    conflicts = page.locator(".programme-conflicts")
    expect(conflicts).to_contain_text("Bystyresalen er booket to ganger samtidig")
    expect(conflicts).to_contain_text("Bystyremøte")

    # Details of the first item: hosts and the interpreter.
    submit(page, page.get_by_role("link", name="Programdetaljer"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Program: Delegasjon fra Vilnius")
    submit(page, page.get_by_role("link", name="Rediger detaljer Velkomst ved ordføreren"))
    page.get_by_label("Adresse").fill("Munkegata 1")
    page.get_by_label("Våre verter").fill("Ordføreren")
    page.get_by_label("Tolk").fill("Rasa Petrauskienė")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("status")).to_contain_text(
        "Programpunktet Velkomst ved ordføreren er lagret."
    )
    expect(page.locator("main table")).to_contain_text("Rasa Petrauskienė")
    screenshot(page, "programme")

    # The briefing and the English programme for the delegation.
    submit(page, page.get_by_role("link", name="Tilbake til arrangementet"))
    submit(page, page.get_by_role("link", name="Orientering om besøket"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Orientering: Delegasjon fra Vilnius")
    expect(page.locator("main")).to_contain_text("Havnetur")
    screenshot(page, "briefing")
    event_path = urlsplit(page.url).path.removesuffix("/briefing")
    visit(page, f"{event_path}/programme/print?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Programme: Delegasjon fra Vilnius")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_agreement_and_gift_pages(nb_admin_page, live_app):
    from crm.extensions import db
    from crm.organisations.services import create_organisation

    page = nb_admin_page
    with live_app.app_context():
        create_organisation(name="Vilniaus miestas", kind="twin_city", country="LT", city="")
        db.session.commit()
    visit(page, "/agreements/")
    submit(page, page.get_by_role("link", name="Ny avtale"))
    page.get_by_label("Tittel", exact=True).fill("Samarbeidsavtale Trondheim–Vilnius")
    page.get_by_label("Parter").select_option(label="Vilniaus miestas")
    page.get_by_label("Kategori").select_option(label="Prosjektavtale")
    page.get_by_label("Gyldig til").fill((office_today() + dt.timedelta(days=60)).isoformat())
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Samarbeidsavtale Trondheim–Vilnius")
    expect(page.locator("main")).to_contain_text("Utløper snart")
    submit(page, page.get_by_role("link", name="Vilniaus miestas"))
    expect(page.locator("#agreements-heading")).to_be_visible()
    visit(page, "/gifts/new")
    page.get_by_label("Gave", exact=True).fill("Bok om Nidarosdomen")
    page.get_by_label("Verdi (NOK)").fill("450")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.locator("main table")).to_contain_text("Bok om Nidarosdomen")
