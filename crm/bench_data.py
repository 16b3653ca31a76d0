"""A realistic, deterministic data set at any scale, for benchmarks and load tests.

`generate()` writes organisations (22 consulates and the twin cities among them), contacts
with memberships and interactions, five years of events with programmes, participations,
countries, tags and follow-ups, in bulk (`session.execute(insert(Model), rows)` in batches,
COPY on PostgreSQL). Bulk inserts skip the ORM's `before_flush` hook, so `search_text` is
computed here with the same `fold()`.
The same seed and anchor date give the same rows.
"""

import datetime as dt
import enum
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from random import Random
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, text
from sqlalchemy.orm import selectinload

from crm import readonly
from crm.auth.models import User
from crm.calendars.listeners import refresh_vevents
from crm.calendars.services import ensure_default_calendars
from crm.contacts.models import Contact, Membership, name_key
from crm.db import fold
from crm.enums import (
    EventKind,
    EventStatus,
    Language,
    OrganisationKind,
    ParticipationRole,
    Role,
    TwinCityCategory,
    Visibility,
)
from crm.errors import ServiceError
from crm.events.models import Event, EventCountry, Participation, ProgrammeItem
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus, Interaction, InteractionKind
from crm.organisations.models import Organisation
from crm.tags import Tag, contact_tag, event_tag, organisation_tag

BATCH = 2000
OSLO = "Europe/Oslo"
# No usable password: bench staff exist to be responsible for events, not to log in.
UNUSABLE_PASSWORD = "!bench-data"  # noqa: S105

# The countries the 22 consulates in the city represent.
CONSULATE_COUNTRIES = [
    "DK", "SE", "FI", "IS", "DE", "FR", "GB", "NL", "BE", "ES", "IT",
    "PL", "LT", "LV", "EE", "AT", "CH", "CZ", "HU", "US", "CL", "JP",
]  # fmt: skip
TWIN_CITIES = [
    ("Darmstadt", "DE"),
    ("Göteborg", "SE"),
    ("Jyväskylä", "FI"),
    ("Aarhus", "DK"),
    ("Petrozavodsk", "RU"),
    ("Ramat Gan", "IL"),
    ("Kaunas", "LT"),
    ("São Carlos", "BR"),
    ("Tartu", "EE"),
    ("Reykjavík", "IS"),
]
COUNTRY_WEIGHTS = {
    "NO": 40, "SE": 8, "DK": 6, "FI": 5, "DE": 7, "GB": 6, "US": 5, "FR": 3, "NL": 3,
    "PL": 3, "LT": 2, "IS": 2, "JP": 2, "CN": 2, "IN": 2, "BR": 1, "CL": 1, "ES": 2,
    "IT": 2, "EE": 1, "CA": 2, "KR": 1, "ZA": 1, "KE": 1, "TZ": 1, "MZ": 1,
}  # fmt: skip
NORWEGIAN_CITIES = [
    "Trondheim", "Tromsø", "Ålesund", "Bodø", "Førde", "Røros", "Steinkjer", "Hønefoss",
    "Lærdal", "Årdal", "Bergen", "Oslo", "Stjørdal", "Malvik", "Orkanger", "Levanger",
]  # fmt: skip
FOREIGN_CITIES = [
    "Malmö", "København", "Helsingfors", "Zürich", "München", "Kraków", "Gdańsk", "Lyon",
    "Edinburgh", "Boston", "Kyoto", "Shanghai", "Pune", "Toronto", "Nairobi", "Maputo",
    "Santiago", "Vilnius", "Tallinn", "Rotterdam", "Sevilla", "Torino", "Busan",
]  # fmt: skip
FIRST_NAMES_NB = [
    "Åse", "Øystein", "Bjørn", "Kåre", "Ingrid", "Sølvi", "Mårten", "Jørgen", "Håkon",
    "Sigrid", "Tor", "Åsmund", "Gøril", "Nils", "Kari", "Ragnhild", "Ørjan", "Synnøve",
    "Trond", "Marte", "Eirik", "Solveig", "Ståle", "Brynhild", "Jens", "Hege",
]  # fmt: skip
FIRST_NAMES_EN = [
    "Emily", "James", "Oliver", "Charlotte", "Amelia", "Henry", "Zoë", "Chloé", "Noah",
    "Ava", "William", "Sophie", "Liam", "Grace", "Lucas", "Hannah", "Mateo", "Aiko",
    "Priya", "Wei", "Jürgen", "Łukasz", "Agnė", "José", "Søren", "Malin",
]  # fmt: skip
LAST_NAMES = [
    "Sæther", "Bråthen", "Ødegård", "Håland", "Løvås", "Næss", "Aasen", "Strøm", "Dahl",
    "Berg", "Kvålsvoll", "Bjørnstad", "Hansen", "Johansen", "Smith", "Jones", "Müller",
    "Lindqvist", "Nguyen", "García", "Kowalski", "Andersson", "Jensen", "Virtanen",
    "O'Brien", "Tanaka", "Sharma", "Wang", "Petrauskas", "Schmidt", "Dubois", "Rossi",
]  # fmt: skip
TITLES = [
    "Rådgiver", "Seniorrådgiver", "Daglig leder", "Professor", "Førsteamanuensis",
    "Prosjektleder", "Konsul", "Generalkonsul", "Director", "Project manager", "Researcher",
    "Head of international relations", "Mayor", "Ordfører", "Student", "Adviser", "",
]  # fmt: skip
ROLES = ["kontaktperson", "styreleder", "contact person", "board member", "employee", ""]
TAGS = [
    "eu", "forskning", "næringsliv", "kultur", "idrett", "studenter", "bærekraft", "havbruk",
    "energi", "teknologi", "helse", "reiseliv", "nordisk", "arktis", "klima", "utdanning",
    "innovasjon", "smart city", "frivillighet", "musikk", "film", "mat", "vennskapsby",
    "konsulat", "olav", "nidaros", "ntnu", "sintef", "delegasjon", "presse",
]  # fmt: skip
VENUES = [
    "Trondheim rådhus", "Erkebispegården", "Olavshallen", "NTNU Gløshaugen", "Clarion Hotel",
    "Britannia Hotel", "Trondheim Spektrum", "Nidarosdomen", "Rockheim", "Vitensenteret",
    "Scandic Nidelven", "Dokkhuset", "Sukkerhuset", "Torvet", "Pirbadet", "Granåsen",
]  # fmt: skip
TOPICS = [
    "havbruk", "energi", "smarte byer", "bærekraftig reiseliv", "arktisk samarbeid",
    "helse og velferd", "teknologi", "klimatilpasning", "ocean space", "green shipping",
    "digital health", "urban mobility", "student exchange", "culture and heritage",
]  # fmt: skip
PROGRAMME = [
    "Velkomst på rådhuset", "Omvisning i Nidarosdomen", "Møte med ordføreren", "Lunsj",
    "Besøk på NTNU", "Site visit", "Working dinner", "Presentation of the city",
    "Bedriftsbesøk", "Seminar", "Press conference", "Middag i Erkebispegården",
]  # fmt: skip
ORG_WORDS = [
    "Nordlys", "Fjordkraft", "Havørn", "Fjellstue", "Bølgen", "Midtnorsk", "Trøndersk",
    "Nidelv", "Solsikke", "Lysverket", "Ørnes", "Vårsol", "Blåbær", "Tindved", "Aurora",
]  # fmt: skip
ORG_KIND_WEIGHTS = {
    OrganisationKind.BUSINESS: 30,
    OrganisationKind.NGO: 18,
    OrganisationKind.UNIVERSITY: 6,
    OrganisationKind.RESEARCH: 6,
    OrganisationKind.PUBLIC_BODY: 12,
    OrganisationKind.STUDENT_ORG: 6,
    OrganisationKind.CULTURAL: 12,
    OrganisationKind.OTHER: 10,
}
EVENT_KIND_WEIGHTS = {
    EventKind.DELEGATION: 30,
    EventKind.MEETING: 25,
    EventKind.CONGRESS: 12,
    EventKind.CULTURAL: 12,
    EventKind.FAIR: 6,
    EventKind.SPORTS: 6,
    EventKind.OTHER: 9,
}


@dataclass
class Counts:
    """How many rows of each kind `generate()` wrote."""

    organisations: int = 0
    contacts: int = 0
    memberships: int = 0
    events: int = 0
    programme_items: int = 0
    participations: int = 0
    event_countries: int = 0
    tags: int = 0
    users: int = 0
    follow_ups: int = 0
    interactions: int = 0
    extra: dict[str, int] = field(default_factory=dict)


def ascii_slug(text: str) -> str:
    """ASCII letters for an email address: "Ødegård" -> "odegard"."""
    text = text.replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("Æ", "Ae")
    text = text.replace("ß", "ss").replace("ł", "l").replace("Ł", "L")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in text.lower() if c.isalnum())


def _chunks(rows: list, size: int = BATCH) -> Iterator[list]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _weighted(rng: Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _uid(rng: Random) -> str:
    return f"{uuid.UUID(int=rng.getrandbits(128), version=4)}@vertskap"


class _Writer:
    """Bulk inserts in batches, returning new primary keys in parameter order.

    On PostgreSQL the rows go in with COPY (ids drawn from the table's sequence first),
    about five times faster than multi-row INSERTs; elsewhere with `insert(Model)`.
    """

    def __init__(self, progress: Callable[[int], None] | None):
        self.progress = progress or (lambda n: None)
        self.copy = db.session.get_bind().dialect.name == "postgresql"

    @staticmethod
    def _insert(target):
        # render_nulls: rows whose None values differ still go in one batch (without it the
        # ORM splits the rows into runs by which columns are None: 10x slower).
        return insert(target).execution_options(render_nulls=True)

    def insert_returning_ids(self, model, rows: list[dict], *, report: bool = False) -> list[int]:
        """Insert rows of an ORM model; the new ids in the rows' order."""
        ids: list[int] = []
        stmt = self._insert(model).returning(model.id, sort_by_parameter_order=True)
        for chunk in _chunks(rows):
            if self.copy:
                new_ids = self._next_ids(model.__table__, len(chunk))
                self._copy(
                    model.__table__, [{"id": i, **r} for i, r in zip(new_ids, chunk, strict=True)]
                )
                ids.extend(new_ids)
            else:
                ids.extend(db.session.scalars(stmt, chunk).all())
            if report:
                self.progress(len(chunk))
        return ids

    def insert(self, target, rows: list[dict]) -> int:
        """Insert rows without reading anything back."""
        for chunk in _chunks(rows):
            if self.copy:
                self._copy(getattr(target, "__table__", target), chunk)
            else:
                db.session.execute(self._insert(target), chunk)
        return len(rows)

    @staticmethod
    def _next_ids(table, count: int) -> list[int]:
        return list(
            db.session.scalars(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": count},
            )
        )

    @staticmethod
    def _copy(table, rows: list[dict]) -> None:
        if not rows:
            return
        names = list(rows[0])
        columns = ", ".join(f'"{name}"' for name in names)
        connection = db.session.connection()
        readonly.wrote(connection)  # COPY goes past SQLAlchemy's events
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([_plain(row[name]) for name in names])


def _plain(value):
    """A value as COPY wants it: enum members as their stored strings."""
    return value.value if isinstance(value, enum.Enum) else value


def _tag_ids(writer: _Writer) -> list[int]:
    """Ids of the bench tags, creating the missing ones."""
    existing = dict(db.session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(TAGS))).all())
    missing = [{"name": name} for name in TAGS if name not in existing]
    if missing:
        for row, new_id in zip(missing, writer.insert_returning_ids(Tag, missing), strict=True):
            existing[row["name"]] = new_id
    return [existing[name] for name in TAGS]


def _staff_ids(writer: _Writer, rng: Random, now: dt.datetime) -> tuple[list[int], int]:
    """Staff who can be responsible for events: the existing users, or twelve new ones."""
    ids = list(db.session.scalars(select(User.id).order_by(User.id)))
    if ids:
        return ids, 0
    rows = []
    for i in range(12):
        first = rng.choice(FIRST_NAMES_NB)
        last = rng.choice(LAST_NAMES)
        rows.append(
            {
                "email": f"{ascii_slug(first)}.{ascii_slug(last)}.{i}@bench.vertskap.example",
                "name": f"{first} {last}",
                "role": Role.COORDINATOR,
                "password_hash": UNUSABLE_PASSWORD,
                "is_active_user": True,
                "session_version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
    return writer.insert_returning_ids(User, rows), len(rows)


def _organisation_rows(rng: Random, count: int, now: dt.datetime) -> list[dict]:
    rows = []
    countries = list(COUNTRY_WEIGHTS)
    for i in range(count):
        row = {"represented_country": None, "twin_city_category": None, "twin_city_since": None}
        if i == 0:
            kind, name, country, city = OrganisationKind.UNIVERSITY, "NTNU", "NO", "Trondheim"
        elif i <= len(CONSULATE_COUNTRIES):
            represented = CONSULATE_COUNTRIES[i - 1]
            kind, country, city = OrganisationKind.CONSULATE, "NO", "Trondheim"
            honorary = rng.random() < 0.7
            name = f"{'Honorary consulate' if honorary else 'Consulate'} of {represented}"
            row["represented_country"] = represented
        elif i <= len(CONSULATE_COUNTRIES) + len(TWIN_CITIES):
            city, country = TWIN_CITIES[i - 1 - len(CONSULATE_COUNTRIES)]
            kind, name = OrganisationKind.TWIN_CITY, f"{city} kommune / City of {city}"
            row["twin_city_category"] = rng.choice(list(TwinCityCategory))
            row["twin_city_since"] = rng.randint(1946, 2020)
        else:
            # One of each kind first, so that even a small data set has them all.
            first = i - 1 - len(CONSULATE_COUNTRIES) - len(TWIN_CITIES)
            kinds = list(ORG_KIND_WEIGHTS)
            kind = kinds[first] if first < len(kinds) else _weighted(rng, ORG_KIND_WEIGHTS)
            country = rng.choices(countries, weights=list(COUNTRY_WEIGHTS.values()))[0]
            city = rng.choice(NORWEGIAN_CITIES if country == "NO" else FOREIGN_CITIES)
            word = rng.choice(ORG_WORDS)
            name = {
                OrganisationKind.BUSINESS: f"{word} {rng.choice(LAST_NAMES)} AS",
                OrganisationKind.NGO: f"Foreningen {word}",
                OrganisationKind.UNIVERSITY: f"Universitetet i {city}",
                OrganisationKind.RESEARCH: f"{word} Research Centre",
                OrganisationKind.PUBLIC_BODY: f"{city} kommune, {word.lower()}etaten",
                OrganisationKind.STUDENT_ORG: f"Studentforeningen {word}",
                OrganisationKind.CULTURAL: f"{word} kulturhus",
                OrganisationKind.OTHER: f"{word} nettverk",
            }[kind]
            name = f"{name} {i}"  # unique, so that search results can be checked
        created = now - dt.timedelta(days=rng.randint(30, 5 * 365))
        row.update(
            name=name,
            kind=kind,
            country=country,
            city=city,
            website=f"https://{ascii_slug(name)[:40]}.example",
            notes="",
            version=1,
            created_at=created,
            updated_at=created,
            search_text=fold(f"{name} {city}")[:1000],
        )
        rows.append(row)
    return rows


def _contact_rows(rng: Random, start: int, count: int, now: dt.datetime) -> list[dict]:
    rows = []
    nationalities = list(COUNTRY_WEIGHTS)
    for i in range(start, start + count):
        norwegian = rng.random() < 0.55
        first = rng.choice(FIRST_NAMES_NB if norwegian else FIRST_NAMES_EN)
        last = rng.choice(LAST_NAMES)
        email = f"{ascii_slug(first)}.{ascii_slug(last)}.{i}@example.org"
        title = rng.choice(TITLES)
        nationality = (
            "NO"
            if norwegian
            else rng.choices(nationalities, weights=list(COUNTRY_WEIGHTS.values()))[0]
        )
        created = now - dt.timedelta(days=rng.randint(1, 5 * 365))
        rows.append(
            {
                "first_name": first,
                "last_name": last,
                "title": title,
                "email": email,
                "other_emails": "",
                "phone": f"+47 {rng.randint(40000000, 99999999)}" if norwegian else "",
                "languages": "nb, en" if norwegian else rng.choice(["en", "en, de", "en, fr"]),
                "preferred_language": Language.NB if norwegian else Language.EN,
                "nationality": nationality,
                "dietary_needs": rng.choice(["", "", "", "", "vegetar", "gluten-free"]),
                "access_needs": "",
                "notes": "",
                "version": 1,
                "created_at": created,
                "updated_at": created,
                "search_text": fold(f"{first} {last} {email} {title}")[:1000],
                "name_key": name_key(first, last),
            }
        )
    return rows


def _event_times(
    rng: Random, kind: EventKind, day: dt.date
) -> tuple[dt.datetime, dt.datetime, dict]:
    """Start, end and the all-day fields of an event on `day`."""
    zone = ZoneInfo(OSLO)
    if kind in (EventKind.FAIR, EventKind.SPORTS, EventKind.CONGRESS) and rng.random() < 0.6:
        last = day + dt.timedelta(days=rng.randint(0, 3))
        starts = dt.datetime.combine(day, dt.time(), zone)
        ends = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
        return starts, ends, {"is_all_day": True, "start_on": day, "end_on": last}
    starts = dt.datetime.combine(day, dt.time(rng.randint(8, 18), rng.choice([0, 15, 30])), zone)
    hours = {EventKind.DELEGATION: rng.randint(3, 30), EventKind.MEETING: rng.randint(1, 3)}
    ends = starts + dt.timedelta(hours=hours.get(kind, rng.randint(2, 8)))
    return starts, ends, {"is_all_day": False, "start_on": None, "end_on": None}


def _event_row(rng: Random, i: int, anchor: dt.date, staff: list[int]) -> dict:
    kind = _weighted(rng, EVENT_KIND_WEIGHTS)
    # Four years back and one ahead, busier in spring and autumn.
    day = anchor - dt.timedelta(days=4 * 365) + dt.timedelta(days=rng.randint(0, 5 * 365))
    if day.month in (7, 12) and rng.random() < 0.5:
        day += dt.timedelta(days=30)
    starts, ends, all_day = _event_times(rng, kind, day)
    city = rng.choice(FOREIGN_CITIES + [c for c, _ in TWIN_CITIES])
    topic = rng.choice(TOPICS)
    title = {
        EventKind.DELEGATION: rng.choice([f"Delegasjon fra {city}", f"Delegation from {city}"]),
        EventKind.MEETING: rng.choice([f"Møte om {topic}", f"Meeting on {topic}"]),
        EventKind.CONGRESS: f"Nordic conference on {topic}",
        EventKind.CULTURAL: rng.choice(["Olavsfest", "Kosmorama", "Trondheim Jazzfestival"]),
        EventKind.FAIR: rng.choice(["Forskningstorget", "Karrieredager", "Nor-Fishing"]),
        EventKind.SPORTS: rng.choice(
            ["Skiskyting i Granåsen", "Trondheim Maraton", "St. Olavsloppet"]
        ),
        EventKind.OTHER: f"Besøk: {topic}",
    }[kind]
    title = f"{title} ({i})"
    if day < anchor:
        status = EventStatus.CANCELLED if rng.random() < 0.04 else EventStatus.DONE
    else:
        status = rng.choice([EventStatus.CONFIRMED, EventStatus.CONFIRMED, EventStatus.TENTATIVE])
    venue = rng.choice(VENUES)
    expected = rng.choice([None, 10, 25, 40, 120, 300, 1500])
    created = starts - dt.timedelta(days=rng.randint(5, 200))
    return {
        "uid": _uid(rng),
        "title": title,
        "kind": kind,
        "status": status,
        "visibility": rng.choices(list(Visibility), weights=[4, 3, 3])[0],
        "timezone": OSLO,
        "starts_at": starts,
        "ends_at": ends,
        **all_day,
        "venue": venue,
        "description": f"{title}: {topic}. Vertskap for {city}.",
        "outcome_notes": "",
        "expected_attendance": expected,
        "actual_attendance": (
            expected + rng.randint(-5, 20) if expected and status == EventStatus.DONE else None
        ),
        "responsible_id": rng.choice(staff),
        "rrule": "",
        "exdates": "",
        "rdates": "",
        "sequence": 0,
        "deleted_at": None,
        "version": 1,
        "created_at": created,
        "updated_at": created,
        "search_text": fold(f"{title} {venue}")[:1000],
    }


def generate(
    *,
    organisations: int,
    contacts: int,
    events: int,
    seed: int = 0,
    anchor: dt.date | None = None,
    progress: Callable[[int], None] | None = None,
) -> Counts:
    """Write a bench data set (flushes, never commits); the same seed and anchor give the same rows.

    `progress(n)` is called as organisations, contacts and events are written (their sum
    is the total). Events spread over the four years before `anchor` and the year after it.
    """
    sizes = {"organisations": organisations, "contacts": contacts, "events": events}
    for name, value in sizes.items():
        if value < 0:
            raise ServiceError(f"{name} cannot be negative.", field=name)
    if organisations == 0 and (contacts or events):
        raise ServiceError(
            "Contacts and events need at least one organisation.", field="organisations"
        )
    rng = Random(seed)
    anchor = anchor or dt.date.today()
    now = dt.datetime.combine(anchor, dt.time(12), dt.UTC)
    writer = _Writer(progress)
    counts = Counts()

    tag_ids = _tag_ids(writer)
    counts.tags = len(tag_ids)
    staff, counts.users = _staff_ids(writer, rng, now)

    org_rows = _organisation_rows(rng, organisations, now)
    org_ids = writer.insert_returning_ids(Organisation, org_rows, report=True)
    counts.organisations = len(org_ids)
    counts.extra["organisation_tags"] = writer.insert(
        organisation_tag,
        [
            {"organisation_id": oid, "tag_id": tid}
            for oid in org_ids
            for tid in rng.sample(tag_ids, rng.choice([0, 1, 1, 2]))
        ],
    )
    # A few organisations have most of the people and events (as in life).
    # (NTNU, the first, is left out here: it gets its events below.)
    weighted_orgs = org_ids[1:] or org_ids
    rng.shuffle(weighted_orgs)
    org_weights = list(accumulate(1.0 / (rank + 1) ** 0.6 for rank in range(len(weighted_orgs))))

    contact_ids: list[int] = []
    for start in range(0, contacts, BATCH):
        rows = _contact_rows(rng, start, min(BATCH, contacts - start), now)
        ids = writer.insert_returning_ids(Contact, rows, report=True)
        contact_ids.extend(ids)
        memberships, links = [], []
        for cid in ids:
            for oid in rng.choices(
                weighted_orgs, cum_weights=org_weights, k=rng.choice([0, 1, 1, 1, 2])
            ):
                since = anchor - dt.timedelta(days=rng.randint(30, 3650))
                memberships.append(
                    {
                        "contact_id": cid,
                        "organisation_id": oid,
                        "role": rng.choice(ROLES),
                        "starts_on": since,
                        "ends_on": None if rng.random() < 0.85 else anchor - dt.timedelta(days=10),
                    }
                )
            links.extend(
                {"contact_id": cid, "tag_id": tid}
                for tid in rng.sample(tag_ids, rng.choice([0, 0, 1, 2]))
            )
        counts.memberships += writer.insert(Membership, memberships)
        counts.extra["contact_tags"] = counts.extra.get("contact_tags", 0) + writer.insert(
            contact_tag, links
        )
        interactions = [
            _interaction_row(rng, anchor, staff, contact_id=cid)
            for cid in ids
            for _n in range(rng.choice([0, 0, 0, 1, 1, 2]))
        ]
        counts.interactions += writer.insert(Interaction, interactions)
    counts.contacts = len(contact_ids)

    # NTNU (the first organisation) takes part in about one event in forty: at 20,000
    # events that is the organisation with about 500 events that the benchmark opens.
    for start in range(0, events, BATCH):
        rows = [_event_row(rng, i, anchor, staff) for i in range(start, min(start + BATCH, events))]
        ids = writer.insert_returning_ids(Event, rows, report=True)
        programme, participations, countries, links = [], [], [], []
        event_contacts: dict[int, list[int]] = {}
        for event_id, row in zip(ids, rows, strict=True):
            if row["kind"] == EventKind.DELEGATION:
                slot = row["starts_at"]
                for _slot in range(rng.randint(2, 6)):
                    programme.append(
                        {
                            "event_id": event_id,
                            "starts_at": slot,
                            "ends_at": slot + dt.timedelta(minutes=90),
                            "place": rng.choice(VENUES),
                            "title": rng.choice(PROGRAMME),
                            "who": rng.choice(["", "Ordføreren", "The mayor", "NTNU"]),
                        }
                    )
                    slot += dt.timedelta(hours=2)
            orgs = set(rng.choices(weighted_orgs, cum_weights=org_weights, k=rng.randint(1, 3)))
            if rng.random() < 0.025:
                orgs.add(org_ids[0])
            for oid in sorted(orgs):
                role = rng.choice(
                    [
                        ParticipationRole.HOST,
                        ParticipationRole.PARTNER,
                        ParticipationRole.ORGANISER,
                        ParticipationRole.SPONSOR,
                    ]
                )
                participations.append(
                    {"event_id": event_id, "organisation_id": oid, "contact_id": None, "role": role}
                )
            if contact_ids:
                for cid in sorted(
                    set(rng.sample(contact_ids, min(len(contact_ids), rng.randint(0, 5))))
                ):
                    role = rng.choice(
                        [
                            ParticipationRole.DELEGATE,
                            ParticipationRole.GUEST,
                            ParticipationRole.SPEAKER,
                        ]
                    )
                    event_contacts.setdefault(event_id, []).append(cid)
                    participations.append(
                        {
                            "event_id": event_id,
                            "organisation_id": None,
                            "contact_id": cid,
                            "role": role,
                        }
                    )
            for code in sorted(set(rng.choices(list(COUNTRY_WEIGHTS), k=rng.randint(1, 3)))):
                countries.append({"event_id": event_id, "country": code})
            links.extend(
                {"event_id": event_id, "tag_id": tid}
                for tid in rng.sample(tag_ids, rng.randint(0, 3))
            )
        counts.events += len(ids)
        counts.programme_items += writer.insert(ProgrammeItem, programme)
        counts.participations += writer.insert(Participation, participations)
        counts.event_countries += writer.insert(EventCountry, countries)
        counts.extra["event_tags"] = counts.extra.get("event_tags", 0) + writer.insert(
            event_tag, links
        )
        follow_ups = []
        for event_id, row in zip(ids, rows, strict=True):
            if row["kind"] in (EventKind.DELEGATION, EventKind.MEETING) and rng.random() < 0.4:
                people = event_contacts.get(event_id, [])
                follow_ups.append(_follow_up_row(rng, row, event_id, people, anchor, staff))
        counts.follow_ups += writer.insert(FollowUp, follow_ups)
        counts.interactions += writer.insert(
            Interaction,
            [
                _interaction_row(rng, anchor, staff, organisation_id=oid)
                for oid in rng.sample(org_ids, min(len(org_ids), len(ids) // 4))
            ],
        )
        # Feeds are assembled from each event's cached VEVENT, which the ORM hooks that
        # bulk inserts skip would have written.
        refresh_vevents(
            db.session.scalars(
                select(Event).where(Event.id.in_(ids)).options(selectinload(Event.tags))
            ).all()
        )
        db.session.expunge_all()
    ensure_default_calendars()
    db.session.flush()
    return counts


def _follow_up_row(rng, event: dict, event_id: int, contacts: list, anchor, staff) -> dict:
    day = event["ends_at"].date()
    due = day + dt.timedelta(days=rng.choice([3, 7, 14, 30]))
    done = due < anchor - dt.timedelta(days=20) and rng.random() < 0.85
    closed = dt.datetime.combine(due, dt.time(14), dt.UTC) if done else None
    created = event["ends_at"]
    return {
        "title": rng.choice(
            ["Send takkebrev", "Send thank-you letter", "Del presentasjonene", "Følg opp avtale",
             "Send photos to the delegation", "Invite back next year", "Oppdater kontaktinfo"]
        ),
        "due_on": due,
        "status": FollowUpStatus.DONE if done else FollowUpStatus.OPEN,
        "outcome": "Sendt." if done else "",
        "assignee_id": rng.choice(staff),
        "created_by_id": rng.choice(staff),
        "event_id": event_id,
        "contact_id": rng.choice(contacts) if contacts else None,
        "organisation_id": None,
        "closed_at": closed,
        "version": 1,
        "created_at": created,
        "updated_at": closed or created,
    }  # fmt: skip


def _interaction_row(rng, anchor, staff, *, contact_id=None, organisation_id=None) -> dict:
    day = anchor - dt.timedelta(days=rng.randint(0, 4 * 365))
    created = dt.datetime.combine(day, dt.time(15), dt.UTC)
    return {
        "kind": rng.choice(list(InteractionKind)),
        "occurred_on": day,
        "note": rng.choice(
            ["Møtte på Olavsfest.", "Phone call about next year's visit.", "Emailed the programme.",
             "Ga gave: Nidarosdomen i glass.", "Kaffe på Torvet.", ""]
        ),
        "contact_id": contact_id,
        "organisation_id": organisation_id,
        "event_id": None,
        "created_by_id": rng.choice(staff),
        "created_at": created,
        "updated_at": created,
    }  # fmt: skip
