"""Calendar pages: roles, forms, subscriptions shown once, public pages and the import flow."""

import datetime as dt
import io
import re

import flask_babel
import pytest
from sqlalchemy import func, select

from crm.calendars import services
from crm.calendars.models import Calendar, ImportBatch, Subscription
from crm.events.models import Event
from tests.calendars.test_importer import (
    GOOGLE,
    GOOGLE_BREAKFAST,
    OUTLOOK,
    calendar_file,
    weekly_cafe,
)


def calendar_form(**overrides):
    data = {
        "slug": "ntnu-events",
        "name_nb": "NTNU-arrangementer",
        "name_en": "NTNU events",
        "description_nb": "For NTNU",
        "description_en": "For NTNU",
        "rule_enabled": "y",
        "rule_kinds": ["congress", "meeting"],
        "rule_visibilities": ["public", "partners"],
        "rule_tags": "NTNU, research",
    }
    data.update(overrides)
    return data


def test_anonymous_must_log_in_for_staff_pages(client, public_calendar):
    for url in ("/calendar", "/calendars", "/calendars/public", "/calendars/public/import"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_viewer_sees_calendar_pages_but_cannot_manage(client, login_as, public_calendar):
    login_as("viewer")
    page = client.get("/calendar")
    assert page.status_code == 200
    assert "fullcalendar-6.1.19/index.global.min.js" in page.text
    assert 'id="filter-kind"' in page.text and 'id="filter-calendar"' in page.text
    assert "<script>" not in page.text  # CSP: no inline scripts
    assert client.get("/calendars").status_code == 200
    show = client.get("/calendars/public")
    assert show.status_code == 200
    assert "webcal://localhost/calendars/public.ics" in show.text
    assert "https://" in show.text or "http://localhost/calendars/public.ics" in show.text
    assert "Outlook" in show.text and "Google" in show.text and "Apple" in show.text
    assert client.get("/calendars/new").status_code == 403
    assert client.post("/calendars/new", data=calendar_form()).status_code == 403
    assert client.post("/calendars/public/subscriptions").status_code == 403
    assert client.get("/calendars/public/import").status_code == 403


def test_coordinator_creates_and_edits_a_calendar_with_a_rule(client, login_as, db):
    login_as("coordinator")
    response = client.post("/calendars/new", data=calendar_form())
    assert response.status_code == 302
    calendar = db.session.scalar(select(Calendar))
    assert calendar.kinds == ["congress", "meeting"]
    assert calendar.visibilities == ["public", "partners"]
    assert calendar.tags == ["ntnu", "research"]
    assert not calendar.is_public
    form = client.get("/calendars/ntnu-events/edit").text
    assert 'value="congress" selected' in form or 'selected value="congress"' in form
    edited = client.post(
        "/calendars/ntnu-events/edit", data=calendar_form(name_en="NTNU", is_public="y")
    )
    assert edited.status_code == 302
    db.session.expire_all()
    assert db.session.get(Calendar, calendar.id).is_public


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"slug": "Not A Slug!"}, "slug"),
        ({"slug": "public"}, "slug"),
        ({"name_nb": ""}, "name_nb"),
        ({"rule_kinds": ["spaceship"]}, "rule_kinds"),
    ],
)
def test_calendar_form_errors_change_nothing(
    client, login_as, db, public_calendar, overrides, field
):
    login_as("coordinator")
    response = client.post("/calendars/new", data=calendar_form(**overrides))
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Calendar)) == 1


def test_subscription_address_is_shown_once_then_revoked(
    client, login_as, db, public_calendar, make_org
):
    org = make_org(name="Consulate of Finland", kind="consulate")
    login_as("coordinator")
    response = client.post("/calendars/public/subscriptions", data={"organisation_id": org.id})
    assert response.status_code == 200
    match = re.search(r"http://localhost/feeds/([A-Za-z0-9_-]{43,})\.ics", response.text)
    assert match, response.text
    token = match.group(1)
    assert f"webcal://localhost/feeds/{token}.ics" in response.text
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    later = client.get("/calendars/public")
    assert token not in later.text
    assert "Consulate of Finland" in later.text
    subscription = db.session.scalar(select(Subscription))
    assert subscription.last_fetched_at is not None
    revoke = client.post(f"/calendars/public/subscriptions/{subscription.id}/revoke")
    assert revoke.status_code == 302
    assert client.get(f"/feeds/{token}.ics").status_code == 404


def test_subscription_without_subscriber_is_refused(client, login_as, db, public_calendar):
    login_as("coordinator")
    response = client.post("/calendars/public/subscriptions", data={"label": "x"})
    assert response.status_code == 422
    assert 'id="organisation_id-error"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0


def test_add_and_remove_an_event_by_hand(client, login_as, db, make_event):
    services.create_calendar(slug="hand", name_nb="Hånd", name_en="Hand", rule_enabled=False)
    db.session.commit()
    event = make_event(title="Choir visit", visibility="partners")
    login_as("coordinator")
    assert client.post("/calendars/hand/events", data={"event_id": event.id}).status_code == 302
    calendar = services.get_calendar("hand")
    assert [e.id for e in calendar.events] == [event.id]
    assert "Choir visit" in client.get("/calendars/hand").text
    bad = client.post("/calendars/hand/events", data={"event_id": "9999"})
    assert bad.status_code == 422
    client.post(f"/calendars/hand/events/{event.id}/remove")
    db.session.expire_all()
    assert services.get_calendar("hand").events == []


def test_event_ids_json_filters_the_browser_view(client, login_as, db, make_event):
    services.create_calendar(slug="fairs", name_nb="Messer", name_en="Fairs", rule_kinds="fair")
    db.session.commit()
    fair = make_event(title="Fair", kind="fair")
    make_event(title="Visit", kind="delegation")
    login_as("viewer")
    start = (dt.date.today() - dt.timedelta(days=7)).isoformat()
    end = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    data = client.get(f"/calendars/fairs/event-ids.json?start={start}&end={end}").get_json()
    assert data == {"ids": [fair.id]}
    assert client.get("/calendars/fairs/event-ids.json?start=nonsense").status_code == 400


def test_public_page_needs_no_login_and_shows_only_public_upcoming_events(
    client, public_calendar, make_event
):
    make_event(title="Open day", venue="Torvet", description="Music and food")
    make_event(title="Partner briefing", visibility="partners")
    make_event(title="Last year", starts_at=dt.datetime(2020, 1, 1, 10, tzinfo=dt.UTC))
    page = client.get("/c/public", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "<h1>International events in Trondheim</h1>" in page.text
    assert "Open day" in page.text and "Torvet" in page.text and "Music and food" in page.text
    assert "Partner briefing" not in page.text and "Last year" not in page.text
    assert "webcal://localhost/calendars/public.ics" in page.text
    assert page.text.count("<h1") == 1
    flask_babel.refresh()  # the test's app context outlives each request, and so would the locale
    nb = client.get("/c/public", headers={"Accept-Language": "nb"})
    assert "Internasjonale arrangementer i Trondheim" in nb.text


def test_private_calendar_has_no_public_page(client, db):
    services.create_calendar(slug="internal", name_nb="Intern", name_en="Internal")
    db.session.commit()
    assert client.get("/c/internal").status_code == 404
    assert client.get("/c/missing").status_code == 404


def test_import_previews_then_imports_exactly_the_staged_file(
    client, login_as, db, public_calendar
):
    login_as("coordinator")
    upload = {"file": (io.BytesIO(OUTLOOK), "outlook.ics")}
    preview = client.post(
        "/calendars/public/import", data=upload, content_type="multipart/form-data"
    )
    assert preview.status_code == 200
    assert "Møte med konsulatet" in preview.text
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0
    batch = db.session.scalar(select(ImportBatch))
    assert batch.content == OUTLOOK and batch.filename == "outlook.ics"
    confirm = client.post(f"/calendars/public/import/{batch.id}")
    assert confirm.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
    twice = client.post(f"/calendars/public/import/{batch.id}")
    assert twice.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2


def test_broken_upload_shows_the_line_and_stores_nothing(client, login_as, db, public_calendar):
    login_as("coordinator")
    broken = GOOGLE.replace(b"END:VEVENT\r\nEND:VCALENDAR", b"END:VCALENDAR")
    response = client.post(
        "/calendars/public/import",
        data={"file": (io.BytesIO(broken), "google.ics")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'id="file-error"' in response.text
    assert re.search(r"(Line|Linje) 24", response.text)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_preview_names_an_event_whose_rule_cannot_be_used_and_the_import_leaves_it_out(
    client, login_as, db, public_calendar
):
    login_as("coordinator", locale="en")
    content = calendar_file(weekly_cafe("FREQ=WEEKLY;INTERVAL=0"), GOOGLE_BREAKFAST)
    preview = client.post(
        "/calendars/public/import",
        data={"file": (io.BytesIO(content), "outlook.ics")},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200
    assert "1 new, 0 changed, 0 unchanged, 1 with errors (left out)" in preview.text
    row = re.search(r"<tr>\s*<td>3</td>.*?</tr>", preview.text, re.S).group(0)
    assert "Language café" in row
    assert "Line 8: The rule&#39;s interval (INTERVAL) must be 1 or more." in row
    batch = db.session.scalar(select(ImportBatch))
    assert client.post(f"/calendars/public/import/{batch.id}").status_code == 302
    assert db.session.scalars(select(Event.uid)).all() == ["breakfast-1"]


def test_a_file_with_nothing_to_import_says_so_and_offers_no_import(
    client, login_as, db, public_calendar
):
    login_as("coordinator", locale="en")
    todo_only = (
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n"
        b"BEGIN:VTODO\r\nUID:t1\r\nSUMMARY:Buy gifts\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
    )
    once = client.post(
        "/calendars/public/import",
        data={"file": (io.BytesIO(OUTLOOK), "outlook.ics")},
        content_type="multipart/form-data",
    )
    client.post(f"/calendars/public/import/{db.session.scalar(select(ImportBatch.id))}")
    for content in (todo_only, OUTLOOK):  # no events; the same events again, unchanged
        preview = client.post(
            "/calendars/public/import",
            data={"file": (io.BytesIO(content), "again.ics")},
            content_type="multipart/form-data",
        )
        assert preview.status_code == 200, preview.text
        assert "Nothing in this file to import." in preview.text
        assert "/calendars/public/import/" not in preview.text  # no form to confirm
    assert "Nothing in this file to import." not in once.text


def test_a_utf16_file_imports_and_a_nul_character_is_refused(client, login_as, db, public_calendar):
    """Windows programs may save UTF-16; a NUL is binary, and no database column holds it."""
    login_as("coordinator", locale="en")

    def preview(content: bytes):
        return client.post(
            "/calendars/public/import",
            data={"file": (io.BytesIO(content), "x.ics")},
            content_type="multipart/form-data",
        )

    nul = preview(OUTLOOK.replace(b"SUMMARY:", b"SUMMARY:nul\x00", 1))
    assert nul.status_code == 422
    assert re.search(r"Line \d+ contains a NUL character", nul.text)
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
    utf16 = preview(OUTLOOK.decode("utf-8").encode("utf-16"))
    assert utf16.status_code == 200 and "Møte med konsulatet" in utf16.text
    client.post(f"/calendars/public/import/{db.session.scalar(select(ImportBatch.id))}")
    assert db.session.scalar(select(func.count()).select_from(Event)) == 2
