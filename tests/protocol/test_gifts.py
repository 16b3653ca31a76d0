"""The gift register: forms, filters, safe CSV export, the annual report's list."""

import datetime as dt

import pytest

from crm.protocol import services
from crm.protocol.models import Gift


def gift_form(**overrides):
    data = {
        "description": "Book about Trondheim",
        "direction": "given",
        "given_on": "2027-05-17",
        "giver": "The mayor",
        "recipient": "Delegation leader",
        "value": "1 250,50",
        "location": "Handed over",
    }
    data.update(overrides)
    return data


def test_coordinator_registers_gift_for_an_event(client, login_as, make_event, make_org, db):
    event = make_event()
    org = make_org(name="Göteborgs stad")
    login_as("coordinator", locale="en")
    response = client.post(
        "/gifts/new", data=gift_form(event_id=str(event.id), organisation_id=str(org.id))
    )
    assert response.status_code == 302
    gift = db.session.scalar(db.select(Gift))
    assert (gift.value_ore, gift.event_id, gift.organisation_id) == (125050, event.id, org.id)
    page = client.get("/gifts/")
    assert "Book about Trondheim" in page.text
    assert "1,250.50" in page.text


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"description": ""}, "description"),
        ({"direction": "stolen"}, "direction"),
        ({"given_on": ""}, "given_on"),
        ({"value": "lots"}, "value"),
        ({"value": "-5"}, "value"),
        ({"value": "12,345"}, "value"),
        ({"event_id": "999"}, "event_id"),
    ],
)
def test_bad_gift_input_changes_nothing(client, login_as, db, overrides, field):
    login_as("coordinator", locale="en")
    response = client.post("/gifts/new", data=gift_form(**overrides))
    assert response.status_code == 200
    assert f'id="{field}-error"' in response.text
    assert db.session.scalar(db.select(db.func.count()).select_from(Gift)) == 0


def test_filters_by_year_and_direction(client, login_as, db):
    services.create_gift(description="Vase", direction="received", given_on=dt.date(2026, 3, 1))
    services.create_gift(description="Book", direction="given", given_on=dt.date(2027, 3, 1))
    services.create_gift(description="Scarf", direction="received", given_on=dt.date(2027, 4, 1))
    db.session.commit()
    login_as("viewer", locale="en")
    page = client.get("/gifts/?year=2027&direction=received")
    assert "Scarf" in page.text and "Vase" not in page.text and "Book" not in page.text
    assert [g.description for g in services.gifts_for_year(2027)] == ["Book", "Scarf"]


def test_csv_export_neutralises_formulas(client, login_as, db):
    services.create_gift(
        description='=HYPERLINK("http://evil")',
        direction="received",
        given_on=dt.date(2027, 3, 1),
        giver="+47 123",
        value="300",
    )
    db.session.commit()
    login_as("viewer", locale="en")
    response = client.get("/gifts/export.csv?year=2027")
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "'=HYPERLINK" in text
    assert "'+47 123" in text
    assert "300.00" in text


def test_edit_with_old_version_is_refused(client, login_as, db):
    gift = services.create_gift(
        description="Vase", direction="received", given_on=dt.date(2027, 3, 1)
    )
    db.session.commit()
    seen = gift.version
    services.update_gift(gift, description="Vase (glass)")
    db.session.commit()
    login_as("coordinator", locale="en")
    response = client.post(f"/gifts/{gift.id}/edit", data=gift_form(version=str(seen)))
    assert "Someone else changed this record" in response.text
    db.session.expire_all()
    assert db.session.get(Gift, gift.id).description == "Vase (glass)"


def test_viewer_cannot_register_gifts(client, login_as):
    login_as("viewer")
    assert client.post("/gifts/new", data=gift_form()).status_code == 403


@pytest.mark.parametrize("locale, shown", [("nb", "1\u00a0250,50"), ("en", "1,250.50")])
def test_the_register_writes_amounts_as_the_language_does(client, login_as, locale, shown):
    login_as("coordinator", locale=locale)
    assert client.post("/gifts/new", data=gift_form(value="1250,50")).status_code == 302
    page = client.get("/gifts/").text
    assert f"<td>{shown}</td>" in page
