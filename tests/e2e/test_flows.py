"""The main journeys in a real browser: every page checked with axe as it loads."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.conftest import OSLO, PASSWORD, office_today
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
    expect(page.get_by_role("status")).to_contain_text(
        "Organisasjonen Gøteborg kommune er opprettet"
    )
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


@pytest.mark.parametrize("width", [320, 640, 1280], ids=["320px", "200pct-zoom", "1280px"])
def test_main_pages_need_no_horizontal_scrolling(browser, base_url, width, make_org_in_app):
    # 640 CSS pixels is what a 1280-pixel window shows at 200 % zoom; at 1280 the admin's
    # long menu must wrap, not run off the edge
    from tests.e2e.conftest import PageChecker

    make_org_in_app("Det internasjonale organisasjonsnavnet som er svært langt Universitetet")
    context = browser.new_context(
        base_url=base_url, locale="nb-NO", viewport={"width": width, "height": 800}
    )
    page = context.new_page()
    page.checker = PageChecker(page)
    try:
        log_in(page)
        for path in (
            "/",
            "/organisations/",
            "/organisations/new",
            "/contacts/new",
            "/events/",
            "/events/new?kind=delegation",
            "/accessibility",
            "/no-such-page",
        ):
            visit(page, path)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
            off_screen = page.evaluate(
                """() => [...document.querySelectorAll('a, button, input, select')]
                    .filter(e => e.offsetParent !== null
                        && e.getBoundingClientRect().right > document.documentElement.clientWidth)
                    .map(e => e.textContent.trim() || e.id)"""
            )
            assert not off_screen, f"{path} at {width}px: cut off at the right: {off_screen}"
        # the menu is reachable behind its button
        toggler = page.get_by_role("button", name="Vis meny")
        if width < 1200:
            toggler.click()
            expect(page.get_by_role("link", name="Organisasjoner")).to_be_visible()
        page.checker.finish()
    finally:
        context.close()


def test_accessibility_statement_is_public_and_linked_from_the_footer(page, screenshot):
    visit(page, "/login")
    submit(
        page, page.get_by_role("contentinfo").get_by_role("link", name="Tilgjengelighetserklæring")
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("Tilgjengelighetserklæring")
    expect(page.locator("main")).to_contain_text("200 % forstørrelse")
    screenshot(page, "accessibility")
    submit(page, page.get_by_role("button", name="English"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Accessibility statement")


def test_error_page(admin_page):
    response = visit(admin_page, "/no-such-page")
    assert response.status == 404
    expect(admin_page.get_by_role("heading", level=1)).to_have_text("Fant ikke siden")


@pytest.fixture
def make_contact_in_app(live_app):
    """Create a contact in the served app's database; returns its full name."""
    from crm.contacts.models import Contact
    from crm.extensions import db

    def make(first: str, last: str) -> str:
        with live_app.app_context():
            db.session.add(Contact(first_name=first, last_name=last, nationality="SE"))
            db.session.commit()
        return f"{first} {last}"

    return make


def pick(page, field_id: str, typed: str, option: str) -> None:
    """Type into an as-you-type picker and choose a suggestion with the keyboard."""
    page.locator(f"#{field_id}").press_sequentially(typed, delay=30)
    listbox = page.get_by_role("listbox")
    expect(listbox.get_by_role("option", name=re.compile(option))).to_be_visible()
    page.checker.check()  # the open suggestion list is part of the page too
    page.locator(f"#{field_id}").press("ArrowDown")
    page.locator(f"#{field_id}").press("Enter")
    expect(page.locator(f"#{field_id}")).to_have_value(option)


def test_log_a_delegation_visit_with_programme_and_participants(
    admin_page, make_org_in_app, make_contact_in_app, screenshot
):
    page = admin_page
    make_org_in_app("Göteborgs Stad")
    make_contact_in_app("Mikko", "Virtanen")
    day = office_today().isoformat()
    visit(page, "/")
    submit(page, page.get_by_role("link", name="Registrer et delegasjonsbesøk").first)
    expect(page.get_by_role("heading", level=1)).to_have_text("Registrer et delegasjonsbesøk")
    page.get_by_label("Tittel", exact=True).fill("Delegasjon fra Göteborg")
    page.locator("#start_date").fill(day)
    page.locator("#start_time").fill("09:00")
    page.locator("#end_date").fill(day)
    page.locator("#end_time").fill("16:00")
    page.locator("#venue").fill("Rådhuset")
    # the end of a repetition shows once the event repeats
    expect(page.get_by_label("Antall ganger")).to_be_hidden()
    page.get_by_label("Gjentas", exact=True).select_option(label="Hver uke")
    expect(page.get_by_label("Gjentas til og med")).to_be_visible()
    page.get_by_label("Antall ganger").fill("4")
    page.locator("#programme-0-starts_at").fill("09:30")
    page.locator("#programme-0-ends_at").fill("10:30")
    page.locator("#programme-0-title").fill("Velkomst ved ordføreren")
    page.locator("#programme-0-place").fill("Bystyresalen")
    page.locator("#programme-1-starts_at").fill("11:00")
    page.locator("#programme-1-ends_at").fill("12:00")
    page.locator("#programme-1-title").fill("Besøk på NTNU")
    pick(page, "participations-0-name", "Göteb", "Göteborgs Stad")
    page.locator("#participations-0-role").select_option(label="Delegat")
    page.locator("#participations-1-kind").select_option(label="Kontakt")
    pick(page, "participations-1-name", "Virta", "Mikko Virtanen")
    screenshot(page, "delegation-form")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Delegasjon fra Göteborg")
    expect(page.locator("dl.record")).to_contain_text("Gjentas hver uke, 4 ganger")
    programme = page.locator("section", has=page.get_by_role("heading", name="Program"))
    expect(programme).to_contain_text("Velkomst ved ordføreren")
    expect(programme).to_contain_text("Besøk på NTNU")
    participants = page.locator("#participants")
    expect(participants.get_by_role("link", name="Göteborgs Stad")).to_be_visible()
    expect(participants.get_by_role("link", name="Mikko Virtanen")).to_be_visible()
    screenshot(page, "event")
    visit(page, "/events/")
    expect(page.get_by_role("link", name="Delegasjon fra Göteborg")).to_be_visible()
    screenshot(page, "events")


def test_imported_rule_is_shown_and_kept_by_the_event_form(admin_page, live_app):
    from crm.events.models import Event
    from crm.events.services import create_event
    from crm.extensions import db

    page = admin_page
    rule = "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"
    start = dt.datetime.combine(office_today() + dt.timedelta(days=1), dt.time(9), OSLO)
    with live_app.app_context():
        event = create_event(
            title="Språkkafé",
            kind="meeting",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
            rrule=rule,
        )
        db.session.commit()
        event_id = event.id
    visit(page, f"/events/{event_id}")
    expect(page.locator("dl.record")).to_contain_text(f"Gjentas etter en importert regel: {rule}")
    submit(page, page.get_by_role("link", name="Rediger"))
    expect(page.get_by_role("group", name="Gjentakelse")).to_contain_text(rule)
    expect(page.get_by_label("Slutt å gjenta")).not_to_be_checked()
    page.locator("#venue").fill("Biblioteket")
    submit(page, page.get_by_role("button", name="Lagre"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Språkkafé")
    with live_app.app_context():
        assert db.session.get(Event, event_id).rrule == rule


def test_event_shows_in_the_calendar(admin_page, live_app, screenshot):
    from crm.events.services import create_event

    page = admin_page
    today = office_today()
    with live_app.app_context():
        from crm.extensions import db

        create_event(
            title="Konsulatmøte",
            kind="meeting",
            status="confirmed",
            visibility="internal",
            timezone="Europe/Oslo",
            starts_at=dt.datetime.combine(today, dt.time(13), OSLO),
            ends_at=dt.datetime.combine(today, dt.time(14), OSLO),
        )
        db.session.commit()
    # the calendar asks for slim items (view=calendar), not whole events
    with page.expect_response(lambda r: "/api/events?" in r.url) as answer:
        visit(page, "/calendar")
    assert "view=calendar" in answer.value.url
    assert "programme" not in answer.value.json()["items"][0]
    expect(page.get_by_role("link", name="Kalender", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.locator("#calendar").get_by_text("Konsulatmøte")).to_be_visible()
    link = page.locator("#calendar a", has_text="Konsulatmøte").first
    expect(link).to_have_attribute("href", re.compile(r"/events/\d+$"))
    page.checker.check()  # again, now that the events are drawn
    screenshot(page, "calendar")


# Pages that need data to be worth checking are visited by their own tests instead.
CHECKED_ELSEWHERE: set[str] = set()


def page_paths(app) -> list[str]:
    """Every HTML page without URL arguments (so pages added later are checked too)."""
    skip = ("/api/", "/static/", "/healthz", "/logout")
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and not rule.arguments
        and not rule.rule.startswith(skip)
        and not rule.rule.endswith((".ics", ".json", ".csv"))
        and rule.rule not in CHECKED_ELSEWHERE
    )


@pytest.mark.parametrize("lang", ["nb", "en"])
def test_every_page_passes_axe_in_both_languages(admin_page, live_app, lang):
    page = admin_page
    if lang == "en":
        submit(page, page.get_by_role("button", name="English"))
    paths = page_paths(live_app)
    assert "/organisations/" in paths and "/accessibility" in paths
    for path in paths:
        response = visit(page, path)
        assert response.status == 200, f"{path} answered {response.status}"
        assert page.locator("html").get_attribute("lang") == lang
        expect(page.get_by_role("heading", level=1)).to_have_count(1)


def test_busy_organisation_pages_its_events_and_timeline(admin_page, live_app):
    """20 events with a link to all of them, and a timeline 25 entries at a time."""
    from crm.events.services import create_event
    from crm.extensions import db
    from crm.followups.services import add_interaction
    from crm.organisations.services import create_organisation

    with live_app.test_request_context():
        org = create_organisation(name="Travel partner", kind="ngo", country="SE", city="")
        db.session.flush()
        for i in range(25):
            start = dt.datetime(2026, 1, 1 + i, 10, tzinfo=OSLO)
            create_event(
                title=f"Study trip {i:02d}",
                kind="delegation",
                starts_at=start,
                ends_at=start + dt.timedelta(hours=2),
                participations=[{"organisation_id": org.id, "role": "host"}],
            )
            add_interaction(
                kind="met", occurred_on=start.date(), note=f"Talk {i}", organisation_id=org.id
            )
        db.session.commit()
        org_id = org.id
    page = admin_page
    visit(page, f"/organisations/{org_id}")
    events = page.locator("section[aria-labelledby=events-heading] li")
    expect(events).to_have_count(20)
    # The admin's language is whichever an earlier test left: name things in both.
    timeline = page.get_by_role("navigation", name=re.compile("Sider i tidslinjen|Timeline pages"))
    submit(page, timeline.get_by_role("link", name=re.compile("Eldre oppføringer|Older entries")))
    assert page.url.endswith(f"/organisations/{org_id}?timeline_page=2#timeline-heading")
    expect(page.locator("ol.timeline > li")).to_have_count(25)  # 50 entries in all
    submit(page, timeline.get_by_role("link", name=re.compile("Nyere oppføringer|Newer entries")))
    submit(page, page.get_by_role("link", name=re.compile("Alle 25 arrangementer|All 25 events")))
    expect(page.locator("tbody tr")).to_have_count(25)
    expect(page.locator("main")).to_contain_text(re.compile("(Organisasjon|Organisation): Travel"))


def test_pickers_tell_two_records_with_one_name_apart(admin_page, live_app):
    """The suggestion chosen is the record added, where two records share a name."""
    from crm.contacts.models import Contact
    from crm.events.models import Event
    from crm.events.services import create_event
    from crm.extensions import db
    from crm.organisations.services import create_organisation

    page = admin_page
    start = dt.datetime.combine(office_today() + dt.timedelta(days=2), dt.time(10), OSLO)
    with live_app.app_context():
        event = create_event(
            title="Navnebesøk",
            kind="meeting",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=1),
        )
        twins = [
            Contact(first_name="Ola", last_name="Tvilling", email=email)
            for email in ("ola.a@example.org", "ola.b@example.org")
        ]
        db.session.add_all(twins)
        for city in ("Bergen", "Tromsø"):
            create_organisation(name="Tvillingbyen", kind="twin_city", country="SE", city=city)
        db.session.commit()
        event_id, (first_id, second_id) = event.id, [c.id for c in twins]
    visit(page, f"/events/{event_id}")
    page.locator("#kind").select_option("contact")
    page.locator("#name").press_sequentially("Ola Tvil", delay=30)
    page.get_by_role("option", name=re.compile("ola.b@example.org")).click()
    # the forms' own buttons: the page's language is whichever an earlier test left
    submit(page, page.locator(f'form[action="/events/{event_id}/participants"] [type=submit]'))
    expect(page.locator("#participants").get_by_role("link", name="Ola Tvilling")).to_be_visible()
    visit(page, f"/contacts/{first_id}")
    page.locator("#organisation").press_sequentially("Tvillingb", delay=30)
    page.get_by_role("option", name=re.compile("Tromsø")).click()
    submit(page, page.locator(f'form[action="/contacts/{first_id}/memberships"] [type=submit]'))
    expect(page.locator(".flashes")).to_contain_text("Tvillingbyen")
    with live_app.app_context():
        participants = db.session.get(Event, event_id).participations
        assert [p.contact_id for p in participants] == [second_id]
        memberships = db.session.get(Contact, first_id).memberships
        assert [m.organisation.city for m in memberships] == ["Tromsø"]


def test_the_calendar_fetches_every_page_when_events_repeat(admin_page, live_app):
    """`total` counts events, not their occurrences: paging goes on until every event is in."""
    from crm.events.services import create_event
    from crm.extensions import db

    page = admin_page
    first = office_today().replace(day=1)
    with live_app.app_context():
        create_event(  # first in the month, with more occurrences than there are events
            title="Morgenmøte",
            kind="meeting",
            starts_at=dt.datetime.combine(first, dt.time(6), OSLO),
            ends_at=dt.datetime.combine(first, dt.time(6, 30), OSLO),
            rrule="FREQ=DAILY;COUNT=27",
        )
        for day, title in ((20, "Styremøte"), (24, "Fagdag"), (28, "Månedsslutt")):
            create_event(
                title=title,
                kind="meeting",
                starts_at=dt.datetime.combine(first.replace(day=day), dt.time(12), OSLO),
                ends_at=dt.datetime.combine(first.replace(day=day), dt.time(13), OSLO),
            )
        db.session.commit()
    # Pages of two events instead of a thousand: the paging is what is tested.
    page.route(
        re.compile(r"/api/events\?"),
        lambda route: route.continue_(url=route.request.url.replace("per_page=1000", "per_page=2")),
    )
    visit(page, "/calendar")
    calendar = page.locator("#calendar")
    for title in ("Styremøte", "Fagdag", "Månedsslutt"):
        expect(calendar.get_by_text(title)).to_be_visible()
    expect(calendar.get_by_text("Morgenmøte").first).to_be_visible()
