"""The demo data set: the partners the city's strategy names, consulates, twin cities in the
four relation categories, contacts, and past and upcoming events of every kind.

Dates are relative to today, so the demo always has a past, a present and a future.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from crm.auth import services as auth_services
from crm.auth.models import User
from crm.contacts.services import add_membership, create_contact
from crm.events.services import create_event
from crm.extensions import db
from crm.organisations.services import create_organisation

OSLO = ZoneInfo("Europe/Oslo")

ORGANISATIONS = [
    # (key, name, kind, country, city, tags, extra)
    (
        "ntnu",
        "NTNU – Norges teknisk-naturvitenskapelige universitet",
        "university",
        "NO",
        "Trondheim",
        "research, students",
        {"website": "https://www.ntnu.no"},
    ),
    (
        "sintef",
        "SINTEF",
        "research",
        "NO",
        "Trondheim",
        "research",
        {"website": "https://www.sintef.no"},
    ),
    (
        "innovasjon",
        "Innovasjon Norge Trøndelag",
        "public_body",
        "NO",
        "Trondheim",
        "business",
        {"website": "https://www.innovasjonnorge.no"},
    ),
    ("euoffice", "Trøndelags Europakontor", "public_body", "BE", "Brussel", "eu", {}),
    (
        "access",
        "Access Mid-Norway / Midt-Norsk handelskammer",
        "business",
        "NO",
        "Trondheim",
        "business",
        {},
    ),
    ("county", "Trøndelag fylkeskommune", "public_body", "NO", "Steinkjer", "", {}),
    (
        "isfit",
        "ISFIT – International Student Festival in Trondheim",
        "student_org",
        "NO",
        "Trondheim",
        "students, festival",
        {"website": "https://www.isfit.org"},
    ),
    ("iaeste", "IAESTE Trondheim", "student_org", "NO", "Trondheim", "students", {}),
    ("olavsfest", "Olavsfestdagene", "cultural", "NO", "Trondheim", "culture, festival", {}),
    ("tso", "Trondheim Symfoniorkester & Opera", "cultural", "NO", "Trondheim", "culture", {}),
    ("redcross", "Røde Kors Trondheim", "ngo", "NO", "Trondheim", "volunteers", {}),
    ("hotel", "Britannia Hotel", "business", "NO", "Trondheim", "venue", {}),
    # Consulates: the city hosts 22; the demo has a handful.
    (
        "c_se",
        "Sveriges honorære generalkonsulat",
        "consulate",
        "NO",
        "Trondheim",
        "consulate",
        {"represented_country": "SE"},
    ),
    (
        "c_de",
        "Honorary Consulate of Germany",
        "consulate",
        "NO",
        "Trondheim",
        "consulate",
        {"represented_country": "DE"},
    ),
    (
        "c_fi",
        "Suomen kunniakonsulaatti",
        "consulate",
        "NO",
        "Trondheim",
        "consulate",
        {"represented_country": "FI"},
    ),
    (
        "c_fr",
        "Consulat honoraire de France",
        "consulate",
        "NO",
        "Trondheim",
        "consulate",
        {"represented_country": "FR"},
    ),
    (
        "c_pl",
        "Honorary Consulate of Poland",
        "consulate",
        "NO",
        "Trondheim",
        "consulate",
        {"represented_country": "PL"},
    ),
    (
        "c_lt",
        "Honorary Consulate of Lithuania",
        "consulate",
        "NO",
        "Trondheim",
        "consulate",
        {"represented_country": "LT"},
    ),
    # Twin cities, one in each relation category of strategy 2c.
    (
        "darmstadt",
        "Darmstadt",
        "twin_city",
        "DE",
        "Darmstadt",
        "twin city",
        {"twin_city_category": "project_agreement", "twin_city_since": 1968},
    ),
    (
        "tempe",
        "Tempe",
        "twin_city",
        "US",
        "Tempe, Arizona",
        "twin city",
        {"twin_city_category": "political_focus", "twin_city_since": 1985},
    ),
    (
        "ramallah",
        "Ramallah",
        "twin_city",
        "PS",
        "Ramallah",
        "twin city",
        {"twin_city_category": "solidarity", "twin_city_since": 2008},
    ),
    (
        "petrozavodsk",
        "Petrozavodsk",
        "twin_city",
        "RU",
        "Petrozavodsk",
        "twin city",
        {"twin_city_category": "dormant", "twin_city_since": 1989},
    ),
]

CONTACTS = [
    # (key, first, last, title, email, nationality, language, org key, role, extra)
    (
        "ingrid",
        "Ingrid",
        "Ødegård",
        "Prorektor for nyskaping",
        "ingrid.odegard@ntnu.example",
        "NO",
        "nb",
        "ntnu",
        "Prorektor",
        {"languages": "nb, en, de"},
    ),
    (
        "bjorn",
        "Bjørn",
        "Åsheim",
        "Seniorrådgiver",
        "bjorn.asheim@innovasjon.example",
        "NO",
        "nb",
        "innovasjon",
        "Rådgiver",
        {},
    ),
    (
        "sofie",
        "Sofie",
        "Dahl",
        "Head of office",
        "sofie.dahl@europakontor.example",
        "NO",
        "nb",
        "euoffice",
        "Leder",
        {"languages": "nb, en, fr"},
    ),
    (
        "amira",
        "Amira",
        "Haddad",
        "Festival president",
        "amira@isfit.example",
        "LB",
        "en",
        "isfit",
        "President",
        {"languages": "ar, en, fr"},
    ),
    (
        "erik",
        "Erik",
        "Lindström",
        "Honorary Consul General",
        "erik.lindstrom@konsulat.example",
        "SE",
        "nb",
        "c_se",
        "Consul",
        {},
    ),
    (
        "katharina",
        "Katharina",
        "Müller",
        "Oberbürgermeisterin's chief of staff",
        "k.mueller@darmstadt.example",
        "DE",
        "en",
        "darmstadt",
        "Chief of staff",
        {"languages": "de, en", "dietary_needs": "Vegetarian"},
    ),
    (
        "jonas",
        "Jonas",
        "Becker",
        "Head of international relations",
        "j.becker@darmstadt.example",
        "DE",
        "en",
        "darmstadt",
        "International relations",
        {"languages": "de, en"},
    ),
    (
        "maria",
        "María",
        "González",
        "Vice Mayor",
        "maria.gonzalez@tempe.example",
        "US",
        "en",
        "tempe",
        "Vice Mayor",
        {"languages": "en, es", "access_needs": "Step-free access"},
    ),
    (
        "aino",
        "Aino",
        "Virtanen",
        "Honorary Consul",
        "aino.virtanen@konsulaatti.example",
        "FI",
        "en",
        "c_fi",
        "Consul",
        {"languages": "fi, sv, en"},
    ),
    (
        "lukas",
        "Lukas",
        "Kazlauskas",
        "Honorary Consul",
        "lukas@consulate-lt.example",
        "LT",
        "en",
        "c_lt",
        "Consul",
        {},
    ),
    (
        "ola",
        "Ola",
        "Nordmann",
        "Daglig leder",
        "ola@britannia.example",
        "NO",
        "nb",
        "hotel",
        "Daglig leder",
        {},
    ),
    (
        "aase",
        "Åse",
        "Brøndbo",
        "Kunstnerisk leder",
        "aase@olavsfest.example",
        "NO",
        "nb",
        "olavsfest",
        "Kunstnerisk leder",
        {},
    ),
    (
        "omar",
        "Omar",
        "Khalil",
        "Director of culture",
        "omar.khalil@ramallah.example",
        "PS",
        "en",
        "ramallah",
        "Director",
        {"dietary_needs": "Halal"},
    ),
]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), OSLO)


def load_demo(*, admin_email: str, admin_password: str, today: dt.date | None = None) -> None:
    """Create the demo users, partners, contacts and events (flushes; the caller commits)."""
    today = today or dt.date.today()
    admin = auth_services.create_user(
        email=admin_email, password=admin_password, role="admin", name="Demo Admin"
    )
    kari = auth_services.create_user(
        email="kari.nordmann@vertskap.example",
        password=admin_password,
        role="coordinator",
        name="Kari Nordmann",
    )
    auth_services.create_user(
        email="viewer@vertskap.example", password=admin_password, role="viewer", name="Per Leser"
    )
    orgs = {}
    for key, name, kind, country, city, tags, extra in ORGANISATIONS:
        orgs[key] = create_organisation(
            name=name, kind=kind, country=country, city=city, tags=tags, **extra
        )
    people = {}
    for key, first, last, title, email, nat, lang, org, role, extra in CONTACTS:
        contact = create_contact(
            first_name=first,
            last_name=last,
            title=title,
            email=email,
            nationality=nat,
            preferred_language=lang,
            **extra,
        )
        add_membership(contact, organisation_id=orgs[org].id, role=role)
        people[key] = contact
    _events(today, orgs, people, admin, kari)
    _defaults()
    db.session.flush()


def _events(today, orgs, people, admin: User, kari: User) -> None:
    visit = today + dt.timedelta(days=9)
    create_event(
        title="Delegasjon fra Darmstadt: smarte byer",
        kind="delegation",
        status="confirmed",
        visibility="partners",
        starts_at=_at(visit, 9),
        ends_at=_at(visit + dt.timedelta(days=1), 15),
        venue="Trondheim rådhus, Munkegata 1",
        description="Darmstadt's delegation visits Trondheim to follow up the smart-city "
        "project agreement: mobility, energy and the universities' cooperation.",
        expected_attendance=12,
        responsible_id=kari.id,
        countries=["DE"],
        tags="smart city, twin city",
        programme=[
            {
                "starts_at": _at(visit, 9),
                "ends_at": _at(visit, 10),
                "place": "Rådhuset",
                "title": "Velkomst ved ordføreren",
                "who": "Ordfører; Katharina Müller",
            },
            {
                "starts_at": _at(visit, 10, 30),
                "ends_at": _at(visit, 12),
                "place": "NTNU Gløshaugen",
                "title": "Smart-city lab",
                "who": "Ingrid Ødegård",
            },
            {
                "starts_at": _at(visit, 19),
                "ends_at": _at(visit, 22),
                "place": "Britannia Hotel",
                "title": "Middag",
                "who": "Kari Nordmann",
            },
            {
                "starts_at": _at(visit + dt.timedelta(days=1), 9),
                "ends_at": _at(visit + dt.timedelta(days=1), 11),
                "place": "SINTEF",
                "title": "Energy research",
                "who": "",
            },
        ],
        participations=[
            {"organisation_id": orgs["darmstadt"].id, "role": "delegate"},
            {"organisation_id": orgs["ntnu"].id, "role": "host"},
            {"organisation_id": orgs["sintef"].id, "role": "partner"},
            {"contact_id": people["katharina"].id, "role": "delegate"},
            {"contact_id": people["jonas"].id, "role": "delegate"},
            {"contact_id": people["ingrid"].id, "role": "speaker"},
        ],
    )
    forum = today + dt.timedelta(days=2)
    create_event(
        title="Internasjonalt forum: kvartalsmøte",
        kind="meeting",
        visibility="internal",
        starts_at=_at(forum, 13),
        ends_at=_at(forum, 15),
        venue="Trondheim rådhus, bystyresalen",
        description="The international forum of strategy 3f: NTNU, Innovasjon Norge, the EU "
        "office, the chamber of commerce and the county.",
        responsible_id=admin.id,
        countries=["NO"],
        participations=[
            {"organisation_id": orgs[key].id, "role": "partner"}
            for key in ("ntnu", "innovasjon", "euoffice", "access", "county")
        ],
    )
    create_event(
        title="Konsulmottakelse / Consular reception",
        kind="meeting",
        visibility="partners",
        starts_at=_at(today, 17),
        ends_at=_at(today, 19),
        venue="Erkebispegården",
        description="The annual reception for the city's consuls.",
        expected_attendance=40,
        responsible_id=kari.id,
        countries=["SE", "DE", "FI", "FR", "PL", "LT"],
        participations=[
            {"organisation_id": orgs[key].id, "role": "guest"}
            for key in ("c_se", "c_de", "c_fi", "c_fr", "c_pl", "c_lt")
        ],
    )
    festival = today + dt.timedelta(days=60)
    create_event(
        title="ISFIT – International Student Festival in Trondheim",
        kind="congress",
        visibility="public",
        is_all_day=True,
        start_on=festival,
        end_on=festival + dt.timedelta(days=9),
        venue="Studentersamfundet, Elgeseter gate 1",
        description="One of the world's largest student festivals on international issues.",
        expected_attendance=450,
        responsible_id=kari.id,
        countries=["NO", "LB", "US", "DE"],
        tags="students, festival",
        participations=[
            {"organisation_id": orgs["isfit"].id, "role": "organiser"},
            {"organisation_id": orgs["ntnu"].id, "role": "sponsor"},
            {"contact_id": people["amira"].id, "role": "organiser"},
        ],
    )
    create_event(
        title="Olavsfestdagene",
        kind="cultural",
        visibility="public",
        is_all_day=True,
        start_on=today + dt.timedelta(days=120),
        end_on=today + dt.timedelta(days=127),
        venue="Nidarosdomen og byrommet",
        description="Church and culture festival in the city's public spaces.",
        expected_attendance=50000,
        countries=["NO"],
        tags="culture, festival",
        participations=[{"organisation_id": orgs["olavsfest"].id, "role": "organiser"}],
    )
    create_event(
        title="Nor-Fishing",
        kind="fair",
        visibility="public",
        is_all_day=True,
        start_on=today + dt.timedelta(days=200),
        end_on=today + dt.timedelta(days=203),
        venue="Trondheim Spektrum",
        description="International fisheries fair.",
        expected_attendance=20000,
        countries=["NO", "IS", "FO", "CL"],
        participations=[{"organisation_id": orgs["access"].id, "role": "partner"}],
    )
    cup = today + dt.timedelta(days=90)
    create_event(
        title="Verdenscup i hopp, Granåsen",
        kind="sports",
        visibility="public",
        starts_at=_at(cup, 16),
        ends_at=_at(cup, 19),
        venue="Granåsen skisenter",
        description="Ski jumping World Cup: the office hosts the visiting federations' guests.",
        expected_attendance=8000,
        countries=["NO", "AT", "DE", "PL", "SI", "JP"],
        tags="sports",
    )
    past = today - dt.timedelta(days=40)
    create_event(
        title="Delegation from Tempe: water and climate",
        kind="delegation",
        status="done",
        visibility="partners",
        starts_at=_at(past, 10),
        ends_at=_at(past, 16),
        venue="Trondheim rådhus",
        description="Tempe's vice mayor and a business delegation.",
        outcome_notes="Agreed to exchange two trainees next year; thank-you letters sent.",
        expected_attendance=8,
        actual_attendance=9,
        responsible_id=kari.id,
        countries=["US"],
        programme=[
            {
                "starts_at": _at(past, 10),
                "ends_at": _at(past, 11),
                "place": "Rådhuset",
                "title": "Welcome",
                "who": "Deputy mayor",
            },
            {
                "starts_at": _at(past, 12),
                "ends_at": _at(past, 14),
                "place": "SINTEF Ocean",
                "title": "Water technology",
                "who": "",
            },
        ],
        participations=[
            {"organisation_id": orgs["tempe"].id, "role": "delegate"},
            {"contact_id": people["maria"].id, "role": "delegate"},
            {"organisation_id": orgs["sintef"].id, "role": "host"},
        ],
    )
    create_event(
        title="Solidaritetskonsert for Ramallah",
        kind="cultural",
        status="done",
        visibility="public",
        starts_at=_at(today - dt.timedelta(days=100), 19),
        ends_at=_at(today - dt.timedelta(days=100), 21),
        venue="Olavshallen",
        expected_attendance=600,
        actual_attendance=540,
        countries=["PS"],
        participations=[
            {"organisation_id": orgs["ramallah"].id, "role": "partner"},
            {"organisation_id": orgs["redcross"].id, "role": "organiser"},
            {"contact_id": people["omar"].id, "role": "guest"},
        ],
    )
    create_event(
        title="Besøk fra Petrozavodsk (avlyst)",
        kind="delegation",
        status="cancelled",
        visibility="internal",
        starts_at=_at(today + dt.timedelta(days=30), 10),
        ends_at=_at(today + dt.timedelta(days=30), 14),
        countries=["RU"],
        participations=[{"organisation_id": orgs["petrozavodsk"].id, "role": "delegate"}],
    )


def _defaults() -> None:
    """Rows later features need: the public calendar, the default reminder rules."""
    for module, function in (
        ("crm.calendars.services", "ensure_default_calendars"),
        ("crm.reminders.services", "ensure_default_rules"),
    ):
        try:
            target = getattr(__import__(module, fromlist=[function]), function)
        except (ImportError, AttributeError):
            continue
        target()
