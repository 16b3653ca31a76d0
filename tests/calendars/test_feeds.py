"""Feeds over HTTP: who sees what, tokens, conditional requests and the ETag."""

import datetime as dt
import hashlib
from email.utils import format_datetime

import vobject
from sqlalchemy import select

from crm.calendars import services
from crm.calendars.models import Subscription
from crm.db import utcnow
from crm.events import services as event_services
from tests.calendars.conftest import uids


def subscribe(db, calendar, **who):
    subscription, token = services.create_subscription(calendar, **who)
    db.session.commit()
    return subscription, token


def test_public_feed_needs_no_login_and_holds_only_public_events(
    client, public_calendar, make_event
):
    public = make_event(title="Open day", visibility="public")
    make_event(title="Partner briefing", visibility="partners")
    make_event(title="Internal planning", visibility="internal")
    response = client.get("/calendars/public.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert uids(response.data) == {public.uid}


def test_private_calendar_has_no_public_feed(client, db):
    services.create_calendar(slug="partners", name_nb="Partnere", name_en="Partners")
    db.session.commit()
    assert client.get("/calendars/partners.ics").status_code == 404
    assert client.get("/calendars/nope.ics").status_code == 404


def test_partner_feed_never_holds_internal_events_and_staff_feed_does(
    client, db, make_event, make_org, make_user
):
    calendar = services.create_calendar(slug="all", name_nb="Alle", name_en="All")
    db.session.commit()
    public = make_event(title="Open day", visibility="public")
    partners = make_event(title="Partner briefing", visibility="partners")
    internal = make_event(title="Budget", visibility="internal", outcome_notes="NOTE-XYZ")
    _sub, org_token = subscribe(db, calendar, organisation_id=make_org().id)
    _sub, staff_token = subscribe(db, calendar, user_id=make_user().id)
    org_feed = client.get(f"/feeds/{org_token}.ics")
    staff_feed = client.get(f"/feeds/{staff_token}.ics")
    assert uids(org_feed.data) == {public.uid, partners.uid}
    assert uids(staff_feed.data) == {public.uid, partners.uid, internal.uid}
    assert org_feed.headers["Cache-Control"].startswith("private")
    assert b"NOTE-XYZ" not in org_feed.data + staff_feed.data


def test_contact_subscription_sees_partner_events(client, db, make_event, make_contact):
    calendar = services.create_calendar(slug="all", name_nb="Alle", name_en="All")
    db.session.commit()
    partners = make_event(title="Partner briefing", visibility="partners")
    internal = make_event(title="Budget", visibility="internal")
    _sub, token = subscribe(db, calendar, contact_id=make_contact().id)
    found = uids(client.get(f"/feeds/{token}.ics").data)
    assert partners.uid in found and internal.uid not in found


def test_token_is_long_random_stored_hashed_and_fetch_is_recorded(
    client, db, public_calendar, make_org
):
    subscription, token = subscribe(db, public_calendar, organisation_id=make_org().id)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert subscription.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = db.session.scalars(select(Subscription.token_hash)).all()
    assert token not in stored
    assert subscription.last_fetched_at is None
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    db.session.expire_all()
    assert db.session.get(Subscription, subscription.id).last_fetched_at is not None


def test_revoked_or_unknown_token_is_not_found(client, db, public_calendar, make_org):
    subscription, token = subscribe(db, public_calendar, organisation_id=make_org().id)
    assert client.get(f"/feeds/{token}.ics").status_code == 200
    services.revoke_subscription(subscription)
    db.session.commit()
    assert client.get(f"/feeds/{token}.ics").status_code == 404
    assert client.get("/feeds/not-a-token.ics").status_code == 404


def test_subscription_needs_exactly_one_subscriber(
    request_ctx, db, public_calendar, make_org, make_user
):
    import pytest

    from crm.errors import ServiceError

    with pytest.raises(ServiceError):
        services.create_subscription(public_calendar)
    with pytest.raises(ServiceError):
        services.create_subscription(
            public_calendar, organisation_id=make_org().id, user_id=make_user().id
        )
    with pytest.raises(ServiceError):
        services.create_subscription(public_calendar, organisation_id=9999)
    db.session.rollback()
    assert db.session.scalars(select(Subscription)).all() == []


def test_conditional_requests_get_304(client, public_calendar, make_event):
    make_event(title="Open day")
    first = client.get("/calendars/public.ics")
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('"') and last_modified.endswith("GMT")
    by_etag = client.get("/calendars/public.ics", headers={"If-None-Match": etag})
    assert by_etag.status_code == 304 and by_etag.data == b""
    assert by_etag.headers["ETag"] == etag
    by_date = client.get("/calendars/public.ics", headers={"If-Modified-Since": last_modified})
    assert by_date.status_code == 304
    older = format_datetime(utcnow() - dt.timedelta(days=1), usegmt=True)
    assert (
        client.get("/calendars/public.ics", headers={"If-Modified-Since": older}).status_code == 200
    )
    other = client.get("/calendars/public.ics", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_conditional_request_on_token_feed(client, db, public_calendar, make_org, make_event):
    make_event(title="Open day")
    _sub, token = subscribe(db, public_calendar, organisation_id=make_org().id)
    etag = client.get(f"/feeds/{token}.ics").headers["ETag"]
    again = client.get(f"/feeds/{token}.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_any_change_to_an_event_changes_the_etag(client, db, public_calendar, make_event):
    event = make_event(title="Open day")
    other = make_event(title="Fair")
    tags = [client.get("/calendars/public.ics").headers["ETag"]]

    def changed():
        db.session.commit()
        tag = client.get("/calendars/public.ics").headers["ETag"]
        assert tag not in tags
        tags.append(tag)

    event.title = "Open day at the town hall"
    changed()
    event_services.update_event(event, tags="ntnu")
    changed()
    event_services.delete_event(event)
    changed()
    db.session.delete(other)  # a hard delete leaves no row behind to date it by
    changed()
    make_event(title="New")
    db.session.commit()
    assert client.get("/calendars/public.ics").headers["ETag"] not in tags


def test_calendar_change_changes_the_etag(client, db, public_calendar, make_event):
    event = make_event(title="Partner day", visibility="partners")
    calendar = services.create_calendar(
        slug="hand", name_nb="Hånd", name_en="Hand", rule_enabled=False, is_public=True
    )
    db.session.commit()
    before = client.get("/calendars/hand.ics").headers["ETag"]
    services.add_event(calendar, event)
    db.session.commit()
    assert client.get("/calendars/hand.ics").headers["ETag"] != before


def test_feed_name_follows_lang(client, public_calendar):
    assert b"X-WR-CALNAME:International events" in client.get("/calendars/public.ics?lang=en").data
    assert b"X-WR-CALNAME:Internasjonale" in client.get("/calendars/public.ics").data


def test_event_download_needs_login_and_gives_one_event(client, login_as, make_event):
    event = make_event(title="Delegation from Kyiv", visibility="internal")
    assert client.get(f"/events/{event.id}.ics").status_code == 302
    login_as("viewer")
    response = client.get(f"/events/{event.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    assert "attachment" in response.headers["Content-Disposition"]
    assert uids(response.data) == {event.uid}
    assert client.get("/events/9999.ics").status_code == 404


def test_feeds_set_no_cookie_and_do_not_vary_on_cookie_so_proxies_can_cache_them(
    client, db, public_calendar, make_org, make_event, login_as
):
    make_event(title="Open day")
    _sub, token = subscribe(db, public_calendar, organisation_id=make_org().id)
    login_as("viewer")  # even a browser with a session gets the shared, cacheable answer
    for url in ("/calendars/public.ics", f"/feeds/{token}.ics"):
        response = client.get(url)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert "cookie" not in response.headers.get("Vary", "").lower()
    page = client.get("/")
    assert "cookie" in page.headers.get("Vary", "").lower()


def test_programme_items_shared_with_a_partner_appear_in_that_partners_feed_only(
    client, db, public_calendar, make_org, make_event, app
):
    from crm.protocol.services import update_item_detail

    visit = make_event(
        title="Delegation from Darmstadt",
        visibility="internal",
        starts_at=dt.datetime(2027, 3, 29, 9, tzinfo=dt.UTC),
        ends_at=dt.datetime(2027, 3, 29, 15, tzinfo=dt.UTC),
        programme=[
            {
                "starts_at": dt.datetime(2027, 3, 29, 10, tzinfo=dt.UTC),
                "ends_at": dt.datetime(2027, 3, 29, 11, tzinfo=dt.UTC),
                "place": "NTNU Gløshaugen",
                "title": "Smart-city lab",
            },
            {"starts_at": dt.datetime(2027, 3, 29, 12, tzinfo=dt.UTC), "title": "Lunch"},
        ],
    )
    ntnu, sintef = make_org(name="NTNU"), make_org(name="SINTEF")
    _s1, ntnu_token = subscribe(db, public_calendar, organisation_id=ntnu.id)
    _s2, sintef_token = subscribe(db, public_calendar, organisation_id=sintef.id)
    before = client.get(f"/feeds/{ntnu_token}.ics").headers["ETag"]
    lab = visit.programme[0]
    with app.test_request_context():
        update_item_detail(
            lab, shared_with_organisation_id=ntnu.id, interpreter="Anna", notes="VIP parking"
        )
    db.session.commit()

    ntnu_feed = client.get(f"/feeds/{ntnu_token}.ics")
    assert ntnu_feed.headers["ETag"] != before
    parsed = vobject.readOne(ntnu_feed.data.decode())
    shared = [v for v in parsed.vevent_list if "programme" in v.uid.value]
    assert len(shared) == 1
    assert shared[0].summary.value == "Delegation from Darmstadt: Smart-city lab"
    assert shared[0].location.value == "NTNU Gløshaugen"
    assert shared[0].dtstart.value.astimezone(dt.UTC) == dt.datetime(2027, 3, 29, 10, tzinfo=dt.UTC)
    # the internal visit itself, the other items and the internal details stay out
    assert visit.uid not in uids(ntnu_feed.data)
    assert b"Lunch" not in ntnu_feed.data
    assert b"Anna" not in ntnu_feed.data and b"VIP parking" not in ntnu_feed.data
    assert b"programme" not in client.get(f"/feeds/{sintef_token}.ics").data
    assert b"programme" not in client.get("/calendars/public.ics").data
