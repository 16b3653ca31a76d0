"""The demo data set and the `first-run` command that `make run` uses."""

from crm.enums import EventKind, OrganisationKind, TwinCityCategory
from crm.events.models import Event
from crm.organisations.models import Organisation


def test_first_run_loads_the_demo_once_and_prints_a_login_that_works(runner, db, client):
    first = runner.invoke(args=["crm", "first-run"])
    assert first.exit_code == 0, first.output
    assert "Loaded the demo data." in first.output
    assert "admin@vertskap.example" in first.output
    again = runner.invoke(args=["crm", "first-run"])
    assert "Loaded the demo data." not in again.output
    assert db.session.scalar(db.select(db.func.count()).select_from(Organisation)) > 10

    password = first.output.split("with password ")[1].split()[0]
    response = client.post("/login", data={"email": "admin@vertskap.example", "password": password})
    assert response.status_code == 302
    for page in ("/", "/events/", "/organisations/", "/contacts/"):
        assert client.get(page).status_code == 200, page


def test_demo_covers_the_strategy_partners_twin_city_categories_and_event_kinds(runner, db):
    runner.invoke(args=["crm", "seed-demo"])
    orgs = db.session.scalars(db.select(Organisation)).all()
    names = " ".join(o.name for o in orgs)
    for partner in ("NTNU", "Innovasjon Norge", "Europakontor", "ISFIT", "IAESTE"):
        assert partner in names
    assert {o.twin_city_category for o in orgs if o.twin_city_category} == set(TwinCityCategory)
    assert sum(o.kind == OrganisationKind.CONSULATE for o in orgs) >= 5
    events = db.session.scalars(db.select(Event)).all()
    assert {e.kind for e in events} == set(EventKind) - {EventKind.OTHER}
    assert any(e.programme for e in events)
    assert any(e.is_all_day for e in events)
