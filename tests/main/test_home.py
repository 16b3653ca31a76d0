"""The home page's list of recently changed records."""

import datetime as dt

from crm.main.services import RecentChange, recent_changes

UTC = dt.UTC


def test_recent_changes_merge_the_kinds_newest_first_in_one_query(
    db, make_org, make_contact, make_event, count_queries
):
    base = dt.datetime(2026, 11, 1, 12, tzinfo=UTC)
    org = make_org(name="Universitetet")
    contact = make_contact(first_name="Åse", last_name="Ødegård")
    nameless = make_contact(first_name="", last_name="Berg")
    event = make_event(title="Delegasjon fra Göteborg")
    gone = make_event(title="Deleted visit")
    for minutes, record in enumerate([org, nameless, event, contact, gone]):
        record.updated_at = base + dt.timedelta(minutes=minutes)
    gone.deleted_at = base
    db.session.commit()

    with count_queries() as statements:
        changes = recent_changes()
    assert len(statements) == 1
    assert changes == [
        RecentChange("contact", contact.id, "Åse Ødegård", base + dt.timedelta(minutes=3)),
        RecentChange("event", event.id, "Delegasjon fra Göteborg", base + dt.timedelta(minutes=2)),
        RecentChange("contact", nameless.id, "Berg", base + dt.timedelta(minutes=1)),
        RecentChange("organisation", org.id, "Universitetet", base),
    ]
    assert changes[0].updated_at.tzinfo is not None


def test_recent_changes_keep_the_newest_of_all_kinds(db, make_org, make_event):
    base = dt.datetime(2026, 11, 1, 12, tzinfo=UTC)
    orgs = [make_org(name=f"Org {i}") for i in range(4)]
    events = [make_event(title=f"Event {i}") for i in range(4)]
    for i, org in enumerate(orgs):
        org.updated_at = base + dt.timedelta(minutes=2 * i)  # 0, 2, 4, 6
    for i, event in enumerate(events):
        event.updated_at = base + dt.timedelta(minutes=2 * i + 1)  # 1, 3, 5, 7
    db.session.commit()
    names = [change.name for change in recent_changes(limit=3)]
    assert names == ["Event 3", "Org 3", "Event 2"]
