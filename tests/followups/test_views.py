"""Follow-up pages: my list, one-click done, new/edit/drop, several from an event, timelines."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from crm.followups import services
from crm.followups.models import FollowUp, FollowUpStatus, Interaction, InteractionKind
from tests.html_forms import FormFields, form_fields


def test_my_followups_page_shows_mine_overdue_first(client, login_as, db):
    me = login_as("viewer")
    services.create_followup(title="Due later", due_on="2099-01-01", assignee_id=me.id)
    services.create_followup(title="Long overdue", due_on="2020-01-01", assignee_id=me.id)
    services.create_followup(title="Not mine", due_on="2020-01-01")
    db.session.commit()
    page = client.get("/followups/")
    assert page.status_code == 200
    assert page.text.index("Long overdue") < page.text.index("Due later")
    assert "Not mine" not in page.text
    assert "table-danger" in page.text
    assert "Not mine" in client.get("/followups/?who=all").text


def test_assignee_marks_done_in_one_click_even_as_viewer(client, login_as, db):
    me = login_as("viewer")
    mine = services.create_followup(title="Call Astrid", assignee_id=me.id)
    other = services.create_followup(title="Someone else's")
    db.session.commit()
    response = client.post(f"/followups/{mine.id}/done", data={"next": "/followups/"})
    assert response.status_code == 302 and response.headers["Location"] == "/followups/"
    assert client.post(f"/followups/{other.id}/done").status_code == 403
    db.session.expire_all()
    assert mine.status == FollowUpStatus.DONE
    assert other.status == FollowUpStatus.OPEN


def test_done_refuses_a_redirect_off_site(client, login_as, db):
    me = login_as("coordinator")
    followup = services.create_followup(title="x", assignee_id=me.id)
    db.session.commit()
    response = client.post(f"/followups/{followup.id}/done", data={"next": "https://evil.example"})
    assert response.headers["Location"] == "/followups/"


def test_coordinator_creates_edits_and_drops(client, login_as, db, make_contact):
    login_as("coordinator")
    contact = make_contact()
    assert client.get(f"/followups/new?contact_id={contact.id}").status_code == 200
    response = client.post(
        "/followups/new",
        data={
            "title": "Send brochure",
            "due_on": "2026-12-24",
            "assignee_id": "0",
            "contact_id": str(contact.id),
        },
    )
    assert response.status_code == 302
    followup = db.session.scalar(db.select(FollowUp))
    assert followup.contact_id == contact.id and followup.due_on == dt.date(2026, 12, 24)

    page = client.post(
        f"/followups/{followup.id}/edit",
        data={"title": "", "status": "open", "assignee_id": "0", "version": followup.version},
    )
    assert page.status_code == 200 and 'id="title-error"' in page.text
    client.post(
        f"/followups/{followup.id}/edit",
        data={
            "title": "Send brochure and map",
            "status": "open",
            "assignee_id": "0",
            "outcome": "",
            "version": followup.version,
        },
    )
    db.session.expire_all()
    assert followup.title == "Send brochure and map"
    client.post(f"/followups/{followup.id}/drop")
    db.session.expire_all()
    assert followup.status == FollowUpStatus.DROPPED


def test_edit_refuses_a_stale_version(client, login_as, db):
    login_as("coordinator")
    followup = services.create_followup(title="Original")
    db.session.commit()
    seen = followup.version
    services.update_followup(followup, title="Changed by someone else")
    db.session.commit()
    page = client.post(
        f"/followups/{followup.id}/edit",
        data={"title": "Mine", "status": "open", "assignee_id": "0", "version": seen},
    )
    assert page.status_code == 200 and "error-summary" in page.text
    db.session.expire_all()
    assert followup.title == "Changed by someone else"


def test_saving_a_followup_keeps_its_deactivated_assignee(client, login_as, db, make_user):
    """The inactive assignee stays chosen on that follow-up's form, and only there."""
    login_as("coordinator", locale="en")
    gone = make_user(name="Gunnar Gone", email="gone@example.org")
    followup = services.create_followup(title="Call Astrid", assignee_id=gone.id)
    gone.is_active_user = False
    db.session.commit()

    url = f"/followups/{followup.id}/edit"
    page = form_fields(client.get(url).text)
    assert page.fields["assignee_id"] == str(gone.id)
    assert "Gunnar Gone (inactive)" in client.get(url).text
    response = client.post(url, data={**page.fields, "due_on": "2026-12-24"})
    assert response.status_code == 302
    db.session.expire_all()
    assert (followup.assignee_id, followup.due_on) == (gone.id, dt.date(2026, 12, 24))

    assert str(gone.id) not in form_fields(client.get("/followups/new").text).options["assignee_id"]
    other = services.create_followup(title="Call Per")
    db.session.commit()
    other_page = form_fields(client.get(f"/followups/{other.id}/edit").text)
    assert str(gone.id) not in other_page.options["assignee_id"]


def test_deactivating_a_user_warns_of_their_open_followups(client, login_as, db, make_user):
    login_as("admin", locale="en")
    kari = make_user(name="Kari Nordmann", email="kari@example.org")
    for title in ("Call Astrid", "Write to Per"):
        services.create_followup(title=title, assignee_id=kari.id)
    services.complete_followup(services.create_followup(title="Done", assignee_id=kari.id))
    db.session.commit()
    data = {"email": kari.email, "name": kari.name, "role": "coordinator"}
    page = client.post(f"/users/{kari.id}/edit", data=data, follow_redirects=True)
    assert "Kari Nordmann is inactive but still has open follow-ups: 2." in page.text
    page = client.post(f"/users/{kari.id}/edit", data=data, follow_redirects=True)
    assert "still has open follow-ups" not in page.text  # only when deactivated


@pytest.mark.parametrize("url", ["/followups/new", "/followups/1/edit"])
def test_viewer_cannot_create_or_edit(client, login_as, db, url):
    services.create_followup(title="x")
    db.session.commit()
    login_as("viewer")
    assert client.get(url).status_code == 403
    assert client.post("/followups/1/drop").status_code == 403


def test_followups_for_each_selected_participant_from_the_event(
    client, login_as, db, make_event, make_contact
):
    from crm.events.models import Participation

    event = make_event()
    a, b = make_contact(first_name="Astrid"), make_contact(first_name="Björn")
    pa = Participation(event_id=event.id, contact_id=a.id, role="delegate")
    pb = Participation(event_id=event.id, contact_id=b.id, role="delegate")
    db.session.add_all([pa, pb])
    db.session.commit()
    login_as("coordinator")
    form = client.get(f"/followups/from-event/{event.id}")
    assert form.status_code == 200 and "Björn" in form.text
    none_chosen = client.post(f"/followups/from-event/{event.id}", data={"title": "Thanks"})
    assert none_chosen.status_code == 200 and "participation_ids-error" in none_chosen.text
    assert db.session.scalar(db.select(db.func.count()).select_from(FollowUp)) == 0
    client.post(
        f"/followups/from-event/{event.id}",
        data={
            "title": "Thank-you letter",
            "participation_ids": [str(pa.id), str(pb.id)],
            "assignee_id": "0",
        },
    )
    assert {f.contact_id for f in db.session.scalars(db.select(FollowUp))} == {a.id, b.id}
    assert len(services.open_followups_for_event(event)) == 2


def test_organisation_page_shows_its_timeline_and_records_interactions(
    client, login_as, db, make_org
):
    org = make_org(name="Chalmers")
    login_as("coordinator")
    response = client.post(
        "/followups/interactions/new",
        data={
            "kind": "gift_given",
            "occurred_on": "2026-11-20",
            "note": "Gave a book",
            "organisation_id": str(org.id),
            "next": f"/organisations/{org.id}",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/organisations/{org.id}"
    page = client.get(f"/organisations/{org.id}")
    assert "Gave a book" in page.text
    assert 'id="timeline-heading"' in page.text
    interaction = db.session.scalar(db.select(Interaction))
    client.post(f"/followups/interactions/{interaction.id}/delete")
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 0


def timeline_form(page) -> FormFields:
    return form_fields(page.text, "/followups/interactions/new")


def test_the_timeline_form_records_what_it_shows(client, login_as, db, make_org, make_contact):
    from crm.followups import views as followup_views

    org = make_org(name="Chalmers")
    contact = make_contact()
    login_as("coordinator")
    for path, owner in (
        (f"/organisations/{org.id}", "organisation_id"),
        (f"/contacts/{contact.id}", "contact_id"),
    ):
        form = timeline_form(client.get(path + "?tab=x"))
        assert form.fields[owner] == str(org.id if owner == "organisation_id" else contact.id)
        assert form.fields["next"] == path + "?tab=x"
        assert form.fields["occurred_on"] == followup_views.today().isoformat()
        assert form.options["kind"] == [kind.value for kind in InteractionKind]
        response = client.post("/followups/interactions/new", data={**form.fields, "note": "Met"})
        assert response.headers["Location"] == path + "?tab=x"
    recorded = db.session.scalars(db.select(Interaction).order_by(Interaction.id)).all()
    assert [(i.organisation_id, i.contact_id) for i in recorded] == [
        (org.id, None),
        (None, contact.id),
    ]
    assert {i.occurred_on for i in recorded} == {followup_views.today()}


def test_the_timeline_form_speaks_the_page_language_and_dates_itself_today(
    client, login_as, db, make_org, monkeypatch, fresh_locale
):
    from crm.followups import views as followup_views

    org = make_org()
    login_as("coordinator")
    page = client.get(f"/organisations/{org.id}")
    assert "Hva skjedde" in page.text and "What happened" not in page.text
    client.post("/language", data={"lang": "en"})
    page = client.get(f"/organisations/{org.id}")
    assert "What happened" in page.text and "Hva skjedde" not in page.text
    tomorrow = followup_views.utcnow() + dt.timedelta(days=1)
    monkeypatch.setattr(followup_views, "utcnow", lambda: tomorrow)
    form = timeline_form(client.get(f"/organisations/{org.id}"))
    assert form.fields["occurred_on"] == followup_views.today().isoformat()
    assert followup_views.today() == tomorrow.astimezone(ZoneInfo("Europe/Oslo")).date()


def test_bad_interaction_is_refused_with_a_message(client, login_as, db, make_org):
    org = make_org()
    login_as("coordinator")
    response = client.post(
        "/followups/interactions/new",
        data={"kind": "met", "occurred_on": "yesterday", "organisation_id": str(org.id)},
        follow_redirects=True,
    )
    assert "alert-danger" in response.text
    assert db.session.scalar(db.select(db.func.count()).select_from(Interaction)) == 0


def test_home_shows_overdue_followups_and_recent_changes(client, login_as, db, make_org):
    me = login_as("coordinator")
    make_org(name="Recently Changed Org")
    services.create_followup(title="Overdue thing", due_on="2020-01-01", assignee_id=me.id)
    services.create_followup(title="Far future", due_on="2099-01-01", assignee_id=me.id)
    db.session.commit()
    page = client.get("/")
    assert "Overdue thing" in page.text
    assert "Far future" not in page.text
    assert "Recently Changed Org" in page.text


def test_contact_page_shows_timeline_and_reminder_opt_in(client, login_as, db, make_contact):
    contact = make_contact(email="astrid@example.se")
    services.add_interaction(
        kind="called", occurred_on="2026-11-02", note="Phoned about May", contact_id=contact.id
    )
    services.create_followup(title="Send programme", contact_id=contact.id)
    db.session.commit()
    login_as("coordinator")
    page = client.get(f"/contacts/{contact.id}")
    assert page.status_code == 200
    assert "Phoned about May" in page.text and "Send programme" in page.text
    assert f"/reminders/contacts/{contact.id}/subscription" in page.text


def test_event_page_lists_open_followups_with_a_done_button(client, login_as, db, make_event):
    event = make_event(title="Visit from Kraków")
    open_one = services.create_followup(title="Thank the mayor", event_id=event.id)
    done_one = services.create_followup(title="Book hotel", event_id=event.id)
    services.complete_followup(done_one)
    db.session.commit()
    login_as("coordinator")
    page = client.get(f"/events/{event.id}")
    assert page.status_code == 200
    assert "Thank the mayor" in page.text and "Book hotel" not in page.text
    assert f"/followups/{open_one.id}/done" in page.text
    assert f"/followups/from-event/{event.id}" in page.text


@pytest.mark.parametrize("subject", ["organisation", "contact"])
def test_timeline_shows_25_entries_and_pages_to_older_ones(
    client, login_as, db, make_org, make_contact, subject
):
    record = make_org() if subject == "organisation" else make_contact()
    for i in range(30):
        services.add_interaction(
            kind="met",
            occurred_on=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            note=f"Meeting {i:02d}",
            **{f"{subject}_id": record.id},
        )
    db.session.commit()
    login_as("viewer", locale="en")
    path = f"/{subject}s/{record.id}"

    first = client.get(f"{path}?tab=notes").text
    assert "Meeting 29" in first and "Meeting 05" in first and "Meeting 04" not in first
    assert '<nav class="mt-2" aria-label="Timeline pages">' in first
    assert f'href="{path}?tab=notes&amp;timeline_page=2#timeline-heading" rel="next">Older' in first
    assert "Newer entries" not in first

    second = client.get(f"{path}?tab=notes&timeline_page=2").text
    assert "Meeting 04" in second and "Meeting 00" in second and "Meeting 05" not in second
    assert f'href="{path}?tab=notes#timeline-heading" rel="prev">Newer entries' in second
    assert "Older entries" not in second


@pytest.mark.parametrize("value", ["abc", "-1", "0", "3", "99999999999999999999"])
def test_timeline_page_out_of_range_is_never_an_error(client, login_as, db, make_org, value):
    org = make_org()
    services.add_interaction(
        kind="met", occurred_on="2026-01-05", note="Only meeting", organisation_id=org.id
    )
    db.session.commit()
    login_as("viewer", locale="en")
    response = client.get(f"/organisations/{org.id}?timeline_page={value}")
    assert response.status_code == 200
    if value in ("3", "99999999999999999999"):
        assert "Only meeting" not in response.text
        assert f'<a href="/organisations/{org.id}#timeline-heading">' in response.text
    else:
        assert "Only meeting" in response.text


def test_a_follow_up_of_a_deleted_event_names_it_without_a_dead_link(
    client, login_as, db, make_event
):
    from crm.events.services import delete_event
    from crm.followups import views

    me = login_as("viewer", locale="en")
    event = make_event(title="Visit from Turku")
    services.create_followup(  # due today: the home page lists it too
        title="Send photos", event_id=event.id, assignee_id=me.id, due_on=views.today()
    )
    db.session.commit()
    assert f'href="/events/{event.id}"' in client.get("/followups/").text
    delete_event(event)
    db.session.commit()
    for path in ("/followups/", "/"):
        page = client.get(path).text
        assert "Visit from Turku (deleted)" in page, path
        assert f'href="/events/{event.id}"' not in page, path


def test_an_error_on_a_hidden_link_names_it_in_the_page_language(client, login_as, db):
    """A follow-up for an event that is gone: the summary says "Arrangement", not "Event Id"."""
    login_as("coordinator", locale="nb")
    response = client.post("/followups/new", data={"title": "Send bilder", "event_id": "999999"})
    assert response.status_code == 200
    text = " ".join(re.sub(r"<[^>]+>", " ", response.text).split())
    assert "Rett opp følgende: Arrangement: Velg en eksisterende post." in text
    assert "Event Id" not in text
    assert db.session.scalar(db.select(db.func.count()).select_from(FollowUp)) == 0


def test_the_form_reader_skips_textareas_of_other_forms():
    """tests.html_forms reads one form of a page; a textarea elsewhere is not its business."""
    from tests.html_forms import form_fields

    page = (
        '<form action="/a"><textarea name="note">\nkept</textarea></form>'
        '<form action="/b"><input name="title" value="B"><textarea name="x">y</textarea></form>'
    )
    assert form_fields(page, "/a").fields == {"note": "kept"}
    assert form_fields(page, "/b").fields == {"title": "B", "x": "y"}
