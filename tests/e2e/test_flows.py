"""The main journeys in a real browser: every page checked with axe as it loads."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.e2e.conftest import ADMIN_EMAIL, log_in, press_and_load, submit, visit


@pytest.fixture
def make_org_in_app(live_app):
    """Create an organisation in the served app's database; returns its name."""
    from crm.extensions import db
    from crm.organisations.services import create_organisation

    def make(name: str, kind: str = "twin_city", country: str = "SE") -> str:
        with live_app.app_context():
            create_organisation(name=name, kind=kind, country=country, city="")
            db.session.commit()
        return name

    return make


def test_axe_check_reports_violations(page):
    page.set_content('<html><body><main><img src="data:,"><a href="/x"></a></main></body></html>')
    with pytest.raises(AssertionError, match=r"image-alt[\s\S]*link-name"):
        page.checker.check()


def test_log_in_and_log_out(page, make_user_in_app, screenshot):
    email = make_user_in_app("coordinator", name="Kari Koordinator")
    visit(page, "/")  # not logged in: sent to the login page
    assert page.url.endswith("/login?next=%2F") or "/login" in page.url
    screenshot(page, "login")
    page.get_by_label("E-post").fill(email)
    page.get_by_label("Passord").fill("wrong password")
    submit(page, page.get_by_role("button", name="Logg inn"))
    expect(page.locator("#error-summary")).to_contain_text("Feil e-postadresse eller passord")
    page.get_by_label("Passord").fill(PASSWORD)
    submit(page, page.get_by_role("button", name="Logg inn"))
    expect(page.get_by_role("heading", level=1)).to_have_text("God dag, Kari Koordinator")
    expect(page.get_by_role("link", name="Forside")).to_have_attribute("aria-current", "page")
    screenshot(page, "home")
    submit(page, page.get_by_role("button", name="Logg ut"))
    expect(page.get_by_role("status")).to_contain_text("Du er logget ut.")
    visit(page, "/organisations/")
    assert "/login" in page.url


def test_create_organisation(admin_page, screenshot):
    page = admin_page
    visit(page, "/organisations/")
    submit(page, page.get_by_role("link", name="Ny organisasjon"))
    page.get_by_label("Navn", exact=True).fill("Gøteborg kommune")
    page.get_by_label("Type", exact=True).select_option(label="Vennskapsby")
    page.get_by_label("Land", exact=True).select_option(label="Sverige")
    page.get_by_label("By", exact=True).fill("Göteborg")
    page.get_by_label("Stikkord").fill("vennskapsby, Norden")
    screenshot(page, "organisation-form")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Gøteborg kommune")
    expect(page.locator("main")).to_contain_text("Sverige")
    expect(page.get_by_role("status")).to_contain_text("Organisasjonen Gøteborg kommune er opprettet")
    expect(page.get_by_role("link", name="Organisasjoner")).to_have_attribute(
        "aria-current", "page"
    )
    screenshot(page, "organisation")
    visit(page, "/organisations/")
    expect(page.get_by_role("link", name="Gøteborg kommune")).to_be_visible()
    screenshot(page, "organisations")


def test_create_contact(admin_page, screenshot):
    page = admin_page
    visit(page, "/contacts/")
    submit(page, page.get_by_role("link", name="Ny kontakt"))
    page.get_by_label("Fornavn").fill("Astrid")
    page.get_by_label("Etternavn").fill("Lindqvist")
    page.get_by_label("Tittel").fill("Generalkonsul")
    page.get_by_label("E-post", exact=True).fill("astrid@example.se")
    page.get_by_label("Nasjonalitet").select_option(label="Sverige")
    screenshot(page, "contact-form")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Astrid Lindqvist")
    expect(page.locator("main")).to_contain_text("Generalkonsul")
    screenshot(page, "contact")
    visit(page, "/contacts/")
    expect(page.get_by_role("link", name=re.compile("Lindqvist"))).to_be_visible()
    screenshot(page, "contacts")


def test_form_with_errors_shows_a_focused_summary_tied_to_the_fields(admin_page, screenshot):
    page = admin_page
    visit(page, "/organisations/new")
    page.get_by_label("Nettsted").fill("ikke en adresse")
    submit(page, page.get_by_role("button", name="Lagre"))
    summary = page.locator("#error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading")).to_have_text("Rett opp følgende:")
    for field_id in ("name", "website"):
        control = page.locator(f"#{field_id}")
        expect(control).to_have_attribute("aria-invalid", "true")
        described = control.get_attribute("aria-describedby").split()
        assert f"{field_id}-error" in described
        expect(page.locator(f"#{field_id}-error")).not_to_be_empty()
    # the summary's link takes the user to the field
    summary.locator('a[href="#name"]').click()
    expect(page.locator("#name")).to_be_focused()
    screenshot(page, "form-errors")


def test_switching_language_changes_the_whole_page(admin_page):
    page = admin_page
    visit(page, "/organisations/")
    assert page.locator("html").get_attribute("lang") == "nb"
    submit(page, page.get_by_role("button", name="English"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.url.endswith("/organisations/")  # stays on the same page
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Home", "Events", "Organisations", "Contacts", "Users"):
        expect(nav.get_by_role("link", name=label, exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Organisations")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("link", name="Accessibility statement")).to_be_visible()
    body = page.locator("body").inner_text()
    for norwegian in ("Forside", "Organisasjoner", "Kontakter", "Logg ut", "Søk"):
        assert norwegian not in body
    # remembered: a new visit still gets English
    visit(page, "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Good day")
    submit(page, page.get_by_role("button", name="Norsk (bokmål)"))
    assert page.locator("html").get_attribute("lang") == "nb"
    expect(page.get_by_role("heading", level=1)).to_contain_text("God dag")


def focus_is_visible(page) -> bool:
    """True when the focused element draws an outline or a focus ring."""
    return page.evaluate(
        """() => {
            const s = getComputedStyle(document.activeElement);
            return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
                || s.boxShadow !== 'none';
        }"""
    )


def test_keyboard_only(page, make_org_in_app):
    visit(page, "/login")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Hopp til hovedinnholdet")
    expect(skip).to_be_visible()  # hidden until it has focus
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#email")).to_be_focused()
    assert focus_is_visible(page)
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    press_and_load(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_contain_text("God dag")

    # a whole form by keyboard: skip link, then every field in order, then Enter
    visit(page, "/organisations/new")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(page.locator("#name")).to_be_focused()
    page.keyboard.type("Trondheim Havn")
    page.keyboard.press("Tab")
    expect(page.locator("#kind")).to_be_focused()
    assert focus_is_visible(page)
    page.keyboard.press("Tab")
    expect(page.locator("#country")).to_be_focused()
    page.keyboard.type("Norge")  # type-ahead in a closed select picks the option
    page.keyboard.press("Tab")
    expect(page.locator("#city")).to_be_focused()
    page.keyboard.type("Trondheim")
    press_and_load(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trondheim Havn")
    expect(page.locator("main")).to_contain_text("Norge")


@pytest.mark.parametrize("width", [320, 640], ids=["320px", "200pct-zoom"])
def test_main_pages_need_no_horizontal_scrolling(browser, base_url, width, make_org_in_app):
    # 640 CSS pixels is what a 1280-pixel window shows at 200 % zoom
    from tests.e2e.conftest import PageChecker

    make_org_in_app("Det internasjonale organisasjonsnavnet som er svært langt Universitetet")
    context = browser.new_context(base_url=base_url, locale="nb-NO", viewport={"width": width,
                                                                              "height": 800})
    page = context.new_page()
    page.checker = PageChecker(page)
    try:
        log_in(page)
        for path in ("/", "/organisations/", "/organisations/new", "/contacts/", "/events/",
                     "/calendar", "/accessibility", "/auth-does-not-exist"):
            visit(page, path)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        # the menu is reachable behind its button
        toggler = page.get_by_role("button", name="Vis meny")
        if width < 992:
            toggler.click()
            expect(page.get_by_role("link", name="Organisasjoner")).to_be_visible()
        page.checker.finish()
    finally:
        context.close()


def test_accessibility_statement_is_public_and_linked_from_the_footer(page, screenshot):
    visit(page, "/login")
    submit(page, page.get_by_role("contentinfo").get_by_role("link",
                                                             name="Tilgjengelighetserklæring"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tilgjengelighetserklæring")
    expect(page.locator("main")).to_contain_text("200 % forstørrelse")
    screenshot(page, "accessibility")
    submit(page, page.get_by_role("button", name="English"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Accessibility statement")


def test_error_page(admin_page):
    response = visit(admin_page, "/no-such-page")
    assert response.status == 404
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Fant ikke siden")
