"""Programme details and conflicts on the event and programme pages."""

import datetime as dt
from zoneinfo import ZoneInfo

from crm.protocol import services
from crm.protocol.models import ProgrammeItemDetail
from tests.html_forms import form_fields

OSLO = ZoneInfo("Europe/Oslo")
DAY = dt.date.today() + dt.timedelta(days=10)


def at(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), OSLO)


def two_day_visit(make_event, **kw):
    data = {
        "title": "Delegation from Gothenburg",
        "starts_at": at(9),
        "ends_at": at(17, day=DAY + dt.timedelta(days=1)),
        "programme": [
            {
                "title": "Welcome at City Hall",
                "starts_at": at(9),
                "ends_at": at(10),
                "place": "Rådhuset",
                "who": "Mayor",
            },
            {"title": "Lunch", "starts_at": at(12), "ends_at": at(13), "place": "Britannia"},
        ],
    }
    data.update(kw)
    return make_event(**data)


def test_host_named_in_details_and_who_conflicts_across_events(make_event, db):
    visit = two_day_visit(make_event)
    other = make_event(
        title="Consul's visit",
        starts_at=at(9),
        ends_at=at(11),
        programme=[
            {
                "title": "Courtesy call",
                "starts_at": at(9, 59),
                "ends_at": at(10, 30),
                "place": "NTNU",
                "who": "Ola; Mayor",
            }
        ],
    )
    assert [c.kind for c in services.event_conflicts(visit)] == ["host"]
    assert services.event_conflicts(other)[0].item_ids == {
        visit.programme[0].id,
        other.programme[0].id,
    }
    # The same interpreter at lunch in the visit and at a second event's lunch
    services.update_item_detail(visit.programme[1], interpreter="Li Wei", our_hosts="Kari")
    third = make_event(
        title="Fair",
        starts_at=at(11),
        ends_at=at(14),
        programme=[
            {"title": "Stand", "starts_at": at(12, 30), "ends_at": at(14), "place": "Spektrum"}
        ],
    )
    services.update_item_detail(third.programme[0], interpreter="li wei")
    db.session.commit()
    kinds = sorted(c.kind for c in services.event_conflicts(visit))
    assert kinds == ["host", "interpreter"]


def test_cancelled_and_deleted_events_do_not_conflict(make_event, db):
    visit = two_day_visit(make_event)
    make_event(
        title="Cancelled",
        status="cancelled",
        starts_at=at(9),
        ends_at=at(11),
        programme=[{"title": "Call", "starts_at": at(9), "ends_at": at(10), "place": "Rådhuset"}],
    )
    assert services.event_conflicts(visit) == []


def test_event_page_and_programme_page_show_conflict_warnings(client, login_as, make_event):
    visit = two_day_visit(make_event)
    make_event(
        title="Board meeting",
        starts_at=at(9),
        ends_at=at(11),
        programme=[
            {"title": "Board", "starts_at": at(9, 30), "ends_at": at(11), "place": "rådhuset"}
        ],
    )
    login_as("viewer", locale="en")
    page = client.get(f"/events/{visit.id}")
    assert "programme-conflicts" in page.text
    assert "Rådhuset is booked twice at once" in page.text
    assert "Board meeting" in page.text
    programme = client.get(f"/events/{visit.id}/programme")
    assert programme.status_code == 200
    assert "Rådhuset is booked twice at once" in programme.text


def test_item_outside_the_visit_dates_is_warned(client, login_as, make_event):
    visit = make_event(
        starts_at=at(9),
        ends_at=at(17),
        programme=[
            {
                "title": "Arrival dinner",
                "starts_at": at(19, day=DAY - dt.timedelta(days=1)),
                "ends_at": at(21, day=DAY - dt.timedelta(days=1)),
            }
        ],
    )
    assert [c.kind for c in services.event_conflicts(visit)] == ["outside"]
    login_as("viewer", locale="en")
    assert "is outside the visit" in client.get(f"/events/{visit.id}").text


def test_no_warning_without_conflicts(client, login_as, make_event):
    visit = two_day_visit(make_event)
    login_as("viewer", locale="en")
    assert "programme-conflicts" not in client.get(f"/events/{visit.id}").text


def test_coordinator_edits_item_details(client, login_as, make_event, make_org, db):
    visit = two_day_visit(make_event)
    org = make_org(name="Göteborgs stad", kind="twin_city", country="SE")
    item = visit.programme[0]
    login_as("coordinator", locale="en")
    response = client.post(
        f"/events/{visit.id}/programme/{item.id}",
        data={
            "address": "Munkegata 1",
            "our_hosts": "Rita Ottervik",
            "partner_hosts": "Axel Josefson",
            "interpreter": "Li Wei",
            "transport": "Walk",
            "notes": "Gift exchange",
            "shared_with_organisation_id": str(org.id),
        },
    )
    assert response.status_code == 302
    detail = db.session.get(ProgrammeItemDetail, item.id)
    assert (detail.address, detail.interpreter, detail.shared_with_organisation_id) == (
        "Munkegata 1",
        "Li Wei",
        org.id,
    )
    assert "Munkegata 1" in client.get(f"/events/{visit.id}/programme").text


def test_two_editors_of_one_items_details_lose_nothing(client, login_as, make_event, db):
    """The second save from a form opened before the first is refused, with what it typed."""
    visit = two_day_visit(make_event)
    item = visit.programme[0]
    login_as("coordinator", locale="en")
    path = f"/events/{visit.id}/programme/{item.id}"
    first, second = (form_fields(client.get(path).text).fields for _ in range(2))
    assert first["seen"] and first == second  # both opened before either saved
    first["transport"] = "Bus from A"
    assert client.post(path, data=first).status_code == 302
    second["partner_hosts"] = "Host B"
    refused = client.post(path, data=second)
    assert refused.status_code == 200
    assert "Someone else changed this record while you were editing it." in refused.text
    assert "Host B" in refused.text  # what the second editor typed is still on the form
    db.session.expire_all()
    detail = db.session.get(ProgrammeItemDetail, item.id)
    assert (detail.transport, detail.partner_hosts) == ("Bus from A", "")
    # Reopened, the form shows the first save and saves over it.
    reopened = form_fields(client.get(path).text).fields
    assert reopened["transport"] == "Bus from A"
    reopened["partner_hosts"] = "Host B"
    assert client.post(path, data=reopened).status_code == 302
    db.session.expire_all()
    detail = db.session.get(ProgrammeItemDetail, item.id)
    assert (detail.transport, detail.partner_hosts) == ("Bus from A", "Host B")


def test_item_detail_rejects_unknown_partner_and_viewer(client, login_as, make_event, db):
    visit = two_day_visit(make_event)
    item = visit.programme[0]
    login_as("coordinator", locale="en")
    response = client.post(
        f"/events/{visit.id}/programme/{item.id}",
        data={"address": "X", "shared_with_organisation_id": "999"},
    )
    assert response.status_code == 200
    assert "That organisation does not exist." in response.text
    assert db.session.get(ProgrammeItemDetail, item.id) is None
    client.post("/logout")
    login_as("viewer", locale="en")
    assert (
        client.post(f"/events/{visit.id}/programme/{item.id}", data={"address": "X"}).status_code
        == 403
    )


def test_details_go_with_their_item(make_event, db):
    visit = two_day_visit(make_event)
    services.update_item_detail(visit.programme[0], address="Munkegata 1")
    db.session.commit()
    db.session.delete(visit.programme[0].event)
    db.session.commit()
    assert db.session.scalars(db.select(ProgrammeItemDetail)).all() == []


def test_conflict_check_query_count_does_not_grow_with_items(make_event, db):
    import sqlalchemy as sa

    def queries_for(n):
        items = [
            {
                "title": f"Item {i}",
                "starts_at": at(9 + i),
                "ends_at": at(10 + i),
                "place": f"Room {i}",
            }
            for i in range(n)
        ]
        event = make_event(title=f"Visit {n}", starts_at=at(8), ends_at=at(20), programme=items)
        for item in event.programme:
            services.update_item_detail(item, interpreter=f"Interpreter {item.id}")
        db.session.commit()
        db.session.expire_all()
        event = db.session.get(type(event), event.id)
        list(event.programme)
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            services.event_conflicts(event)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements)

    make_event(
        title="Neighbour",
        starts_at=at(8),
        ends_at=at(20),
        programme=[{"title": "Other", "starts_at": at(9), "ends_at": at(10), "place": "Hall"}],
    )
    assert queries_for(2) == queries_for(8)


def test_details_survive_saving_the_event_form(client, login_as, make_event, db):
    visit = two_day_visit(make_event)
    services.update_item_detail(visit.programme[0], interpreter="Li Wei", address="Munkegata 1")
    services.update_item_detail(visit.programme[1], transport="Bus")
    db.session.commit()
    from crm.events.services import update_event

    update_event(
        visit,
        programme=[
            # the welcome moved by half an hour, lunch unchanged, a new item added
            {
                "title": "Welcome at City Hall",
                "starts_at": at(9, 30),
                "ends_at": at(10, 30),
                "place": "Rådhuset",
            },
            {"title": "Lunch", "starts_at": at(12), "ends_at": at(13), "place": "Britannia"},
            {"title": "Harbour tour", "starts_at": at(14), "ends_at": at(15)},
        ],
    )
    db.session.commit()
    db.session.expire_all()
    details = {
        d.item.title: (d.interpreter, d.address, d.transport)
        for d in db.session.scalars(db.select(ProgrammeItemDetail))
    }
    assert details == {
        "Welcome at City Hall": ("Li Wei", "Munkegata 1", ""),
        "Lunch": ("", "", "Bus"),
    }
