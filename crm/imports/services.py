"""Importing organisations and contacts from CSV (all or nothing), and exporting them.

Every row goes through the same services as the forms (create_organisation, create_contact,
add_membership), so an import accepts exactly what a person could type.
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.audit.services import record
from crm.contacts import services as contact_services
from crm.contacts.models import Contact, Membership, normalise_name
from crm.db import fold
from crm.enums import Language, OrganisationKind, TwinCityCategory
from crm.errors import ServiceError
from crm.extensions import db
from crm.i18n import country_names
from crm.imports import csvfile
from crm.imports.duplicates import DuplicateIndex
from crm.imports.models import CsvImport
from crm.organisations import services as org_services
from crm.organisations.models import Organisation
from crm.tags import Tag, get_tags, parse_tags

KINDS = ("contacts", "organisations")

# field → (label, extra header spellings in nb and en; the labels in both languages count too)
CONTACT_FIELDS = {
    "full_name": (
        _l("Full name"),
        ("name", "navn", "fullt navn", "full name", "contact", "kontakt"),
    ),
    "first_name": (_l("First name"), ("first name", "firstname", "given name", "fornavn")),
    "last_name": (
        _l("Last name"),
        ("last name", "lastname", "surname", "family name", "etternavn"),
    ),
    "title": (_l("Title"), ("title", "job title", "position", "tittel", "stilling")),
    "email": (_l("Email"), ("email", "e-mail", "e-post", "epost", "mail", "email address")),
    "other_emails": (_l("Other email addresses"), ("other emails", "andre e-postadresser")),
    "phone": (_l("Phone"), ("phone", "telephone", "mobile", "telefon", "mobil", "tlf")),
    "languages": (_l("Languages spoken"), ("languages", "språk")),
    "preferred_language": (
        _l("Preferred language for mail"),
        ("preferred language", "foretrukket språk", "language", "mail language"),
    ),
    "nationality": (_l("Nationality"), ("nationality", "nasjonalitet", "citizenship")),
    "tags": (_l("Tags"), ("tags", "stikkord", "emneord", "merkelapper")),
    "organisation": (
        _l("Organisation"),
        ("organisation", "organization", "company", "organisasjon", "firma", "bedrift"),
    ),
    "role": (_l("Role"), ("role", "rolle")),
    "notes": (_l("Notes"), ("notes", "note", "comments", "notater", "merknader", "kommentar")),
    "dietary_needs": (
        _l("Dietary needs"),
        ("diet", "allergies", "kosthold", "allergier", "matbehov"),
    ),
    "access_needs": (
        _l("Access needs"),
        ("accessibility", "tilrettelegging", "tilgjengelighet", "universell utforming"),
    ),
}
ORGANISATION_FIELDS = {
    "name": (_l("Name"), ("name", "navn", "organisation", "organisasjon", "organization")),
    "kind": (_l("Kind"), ("kind", "type", "category", "kategori")),
    "country": (_l("Country"), ("country", "land")),
    "city": (_l("City"), ("city", "town", "by", "sted", "poststed")),
    "website": (_l("Website"), ("website", "web", "url", "nettside", "nettsted", "hjemmeside")),
    "tags": (_l("Tags"), ("tags", "stikkord", "emneord")),
    "notes": (_l("Notes"), ("notes", "comments", "notater", "merknader")),
    "represented_country": (_l("Represented country"), ("representert land",)),
    "twin_city_category": (_l("Twin-city relation"), ("vennskapsbyrelasjon", "twin city relation")),
    "twin_city_since": (_l("Twin city since (year)"), ("vennskapsby siden", "twin city since")),
}
# Sensitive fields are imported but never in a bulk export (data minimisation).
EXPORT_CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "email",
    "other_emails",
    "phone",
    "languages",
    "preferred_language",
    "nationality",
    "tags",
    "organisation",
    "role",
)
EXPORT_ORGANISATION_FIELDS = tuple(ORGANISATION_FIELDS)


def fields_for(kind: str) -> dict:
    """The importable fields of a kind of record."""
    if kind == "contacts":
        return CONTACT_FIELDS
    if kind == "organisations":
        return ORGANISATION_FIELDS
    raise ServiceError(_("Choose contacts or organisations."), field="kind")


def field_choices(kind: str) -> list[tuple[str, str]]:
    """(field, label) pairs for the mapping selects, "ignore" first."""
    return [("", _("— ignore this column —"))] + [
        (name, str(label)) for name, (label, _aliases) in fields_for(kind).items()
    ]


def _aliases(kind: str) -> dict[str, str]:
    """Folded header → field, from the extra spellings and the labels in every language."""
    found: dict[str, str] = {}
    for name, (label, aliases) in fields_for(kind).items():
        keys = {csvfile.header_key(a) for a in aliases} | {csvfile.header_key(name)}
        for locale in ("en", "nb"):
            with force_locale(locale):
                keys.add(csvfile.header_key(str(label)))
        for key in keys:
            found.setdefault(key, name)
    return found


def guess_mapping(kind: str, headers: list[str]) -> dict[str, str]:
    """Column index (as text) → field, guessed from the headers (in Norwegian or English)."""
    aliases = _aliases(kind)
    mapping, used = {}, set()
    for index, header in enumerate(headers):
        name = aliases.get(csvfile.header_key(header), "")
        if name and name not in used:
            mapping[str(index)] = name
            used.add(name)
        else:
            mapping[str(index)] = ""
    # A file with first and last names does not also need a full name.
    return mapping


def check_mapping(kind: str, headers: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """A clean mapping; ServiceError when a field is chosen twice or a required one is missing."""
    known = fields_for(kind)
    clean, seen = {}, {}
    for index in range(len(headers)):
        name = (mapping.get(str(index)) or "").strip()
        if name and name not in known:
            raise ServiceError(_("Choose a field from the list."), field="mapping")
        if name and name in seen:
            raise ServiceError(
                _(
                    "Columns %(first)s and %(second)s are both mapped to %(field)s.",
                    first=headers[seen[name]] or seen[name] + 1,
                    second=headers[index] or index + 1,
                    field=known[name][0],
                ),
                field="mapping",
            )
        if name:
            seen[name] = index
        clean[str(index)] = name
    if kind == "contacts" and not ({"last_name", "full_name"} & set(seen)):
        raise ServiceError(
            _("Map a column to Last name or Full name: every contact needs a name."),
            field="mapping",
        )
    if kind == "organisations" and "name" not in seen:
        raise ServiceError(
            _("Map a column to Name: every organisation needs one."), field="mapping"
        )
    return clean


# --- value conversion -------------------------------------------------------------------


class _Lookups:
    """Country names and enum labels in both languages, for turning cells into values."""

    def __init__(self):
        self.countries: dict[str, str] = {}
        for locale in ("en", "nb"):
            for code, name in country_names(locale).items():
                self.countries[fold(name)] = code
                self.countries[fold(code)] = code
        self.enums: dict[type, dict[str, str]] = {}
        for enum_cls in (OrganisationKind, TwinCityCategory, Language):
            table = {}
            for member in enum_cls:
                table[fold(member.value)] = member.value
                for locale in ("en", "nb"):
                    with force_locale(locale):
                        table[fold(member.label)] = member.value
            self.enums[enum_cls] = table
        self.enums[Language].update(
            {"norsk": "nb", "norwegian": "nb", "bokmål": "nb", "no": "nb", "engelsk": "en"}
        )

    def country(self, value: str) -> str:
        return self.countries.get(fold(value), value) if value else ""

    def enum(self, enum_cls: type, value: str) -> str:
        return self.enums[enum_cls].get(fold(value), value) if value else ""


def _split_full_name(value: str) -> tuple[str, str]:
    """ "Ola Nordmann" → ("Ola", "Nordmann"); "Nordmann, Ola" → ("Ola", "Nordmann")."""
    value = " ".join((value or "").split())
    if "," in value:
        last, _sep, first = value.partition(",")
        return first.strip(), last.strip()
    first, _sep, last = value.rpartition(" ")
    return first, last


# --- preview and import -----------------------------------------------------------------


@dataclass
class RowResult:
    """One data row: what it holds and what importing it does (new, duplicate, skip, error)."""

    line: int
    label: str
    action: str = "new"
    errors: list[str] = field(default_factory=list)
    duplicate_id: int | None = None
    duplicate_label: str = ""
    duplicate_reason: str = ""


@dataclass
class ImportResult:
    """The outcome of a preview or an import."""

    kind: str
    rows: list[RowResult] = field(default_factory=list)

    def count(self, action: str) -> int:
        """How many rows have the action ("new", "skip", "error")."""
        return sum(1 for row in self.rows if row.action == action)

    @property
    def duplicates(self) -> int:
        return sum(1 for row in self.rows if row.duplicate_id is not None or row.duplicate_label)

    @property
    def bad_rows(self) -> list[RowResult]:
        return [row for row in self.rows if row.action == "error"]


class ImportRefused(ServiceError):
    """Some rows are bad: nothing was imported; `result` lists each bad row with its reason."""

    def __init__(self, message: str, result: ImportResult):
        super().__init__(message, field="file")
        self.result = result


def _error_text(kind: str, error: ServiceError) -> str:
    fields = fields_for(kind)
    name = "organisation" if error.field == "organisation" else error.field
    if name in fields:
        return f"{fields[name][0]}: {error.message}"
    return error.message


def _row_values(mapping: dict[str, str], row: list[str]) -> dict[str, str]:
    return {name: row[int(index)] for index, name in mapping.items() if name}


# Rows are added to the session and flushed in batches: a flush per row (what the create_*
# services do) makes a 10,000-row import take minutes. Each row is still validated by the
# same field rules as the forms (the services' clean_fields), before anything is added.
FLUSH_EVERY = 500


def _import_rows(
    kind: str,
    parsed: csvfile.ParsedCsv,
    mapping: dict[str, str],
    *,
    skip_duplicates: bool,
    progress: Callable[[int], None] | None,
) -> ImportResult:
    result = ImportResult(kind=kind)
    lookups = _Lookups()
    handler = _import_contact if kind == "contacts" else _import_organisation
    state = _ContactState() if kind == "contacts" else _OrganisationState()
    for number, row in enumerate(parsed.rows, start=2):  # line 1 is the header
        values = _row_values(mapping, row)
        outcome = RowResult(line=number, label="")
        try:
            handler(values, outcome, state, lookups, skip_duplicates)
        except ServiceError as error:
            outcome.action = "error"
            outcome.errors.append(_error_text(kind, error))
        result.rows.append(outcome)
        if number % FLUSH_EVERY == 0:
            db.session.flush()
        if progress:
            progress(1)
    db.session.flush()
    return result


class _TagCache:
    """Tag rows by name, fetched or created once per import."""

    def __init__(self):
        self.tags: dict[str, Tag] = {}

    def get(self, text) -> list[Tag]:
        names = parse_tags(text)
        missing = [n for n in names if n not in self.tags]
        for tag in get_tags(missing):
            self.tags[tag.name] = tag
        return [self.tags[n] for n in names]


class _OrganisationState:
    def __init__(self):
        self.tags = _TagCache()
        self.by_name: dict[str, tuple[int | None, str]] = {}
        for org_id, name in db.session.execute(select(Organisation.id, Organisation.name)):
            self.by_name.setdefault(normalise_name(name), (org_id, name))


class _ContactState:
    def __init__(self):
        self.tags = _TagCache()
        self.duplicates = DuplicateIndex()
        self.organisations: dict[str, list[int]] = {}
        for org_id, name in db.session.execute(select(Organisation.id, Organisation.name)):
            self.organisations.setdefault(fold(name), []).append(org_id)


def _import_organisation(values, outcome, state, lookups, skip_duplicates) -> None:
    name = (values.get("name") or "").strip()
    outcome.label = name
    data = {k: v for k, v in values.items() if k != "tags"}
    for key in ("country", "represented_country"):
        if key in data:
            data[key] = lookups.country(data[key])
    data["kind"] = lookups.enum(OrganisationKind, data.get("kind", "")) or "other"
    if "twin_city_category" in data:
        data["twin_city_category"] = lookups.enum(TwinCityCategory, data["twin_city_category"])
    key = normalise_name(name)
    match = state.by_name.get(key) if key else None
    if match is not None:
        outcome.duplicate_id, outcome.duplicate_label = match
        outcome.duplicate_reason = _("same name")
        if skip_duplicates:
            outcome.action = "skip"
            return
    data.setdefault("name", "")
    org = Organisation(**org_services.clean_fields(data))
    org_services._apply_kind_rules(org)
    org.tags = state.tags.get(values.get("tags"))
    db.session.add(org)
    state.by_name.setdefault(key, (None, org.name))


def _import_contact(values, outcome, state, lookups, skip_duplicates) -> None:
    data = {k: v for k, v in values.items() if k in contact_services.FIELDS}
    if values.get("full_name") and not values.get("last_name"):
        first, last = _split_full_name(values["full_name"])
        if not data.get("first_name"):
            data["first_name"] = first
        data["last_name"] = last
    data.setdefault("last_name", "")
    outcome.label = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p)
    if "nationality" in data:
        data["nationality"] = lookups.country(data["nationality"])
    if "preferred_language" in data:
        data["preferred_language"] = lookups.enum(Language, data["preferred_language"]) or "en"
    org_id = None
    org_name = (values.get("organisation") or "").strip()
    if org_name:
        ids = state.organisations.get(fold(org_name), [])
        if not ids:
            raise ServiceError(
                _(
                    "No organisation is called %(name)s (import the organisations first).",
                    name=org_name,
                ),
                field="organisation",
            )
        if len(ids) > 1:
            raise ServiceError(
                _("%(count)s organisations are called %(name)s.", count=len(ids), name=org_name),
                field="organisation",
            )
        org_id = ids[0]
    role = (values.get("role") or "").strip()
    if len(role) > 200:
        raise ServiceError(_("Use at most %(count)s characters.", count=200), field="role")
    # The form's rules; raises before anything is added.
    fields = contact_services.clean_fields(data)
    emails = [fields.get("email", ""), *(fields.get("other_emails", "") or "").split("\n")]
    match = state.duplicates.match(
        first_name=fields.get("first_name", ""),
        last_name=fields["last_name"],
        emails=emails,
        organisation_id=org_id,
    )
    if match is not None:
        contact_id, reason = match
        outcome.duplicate_id = contact_id if contact_id > 0 else None
        outcome.duplicate_label = state.duplicates.labels.get(contact_id, "")
        outcome.duplicate_reason = (
            _("same email address")
            if reason == "email"
            else _("similar name in the same organisation")
        )
        if skip_duplicates:
            outcome.action = "skip"
            return
    contact = Contact(**fields)
    contact.tags = state.tags.get(values.get("tags"))
    db.session.add(contact)
    if org_id:
        # By id, not through the organisation's collection (which would load its members).
        db.session.add(Membership(contact=contact, organisation_id=org_id, role=role))
    state.duplicates.add(
        -outcome.line,  # not flushed yet: a row of this file, found by its line
        contact.name,
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=emails,
        organisation_id=org_id,
    )


def preview_import(
    kind: str,
    content: bytes,
    mapping: dict[str, str] | None = None,
    *,
    skip_duplicates: bool = True,
) -> tuple[csvfile.ParsedCsv, dict[str, str], ImportResult]:
    """What importing the file would do, row by row; the database is left as it was."""
    fields_for(kind)
    parsed = csvfile.parse(content)
    mapping = check_mapping(kind, parsed.headers, mapping or guess_mapping(kind, parsed.headers))
    savepoint = db.session.begin_nested()
    try:
        result = _import_rows(kind, parsed, mapping, skip_duplicates=skip_duplicates, progress=None)
    finally:
        savepoint.rollback()
    return parsed, mapping, result


def import_file(
    kind: str,
    content: bytes,
    mapping: dict[str, str] | None = None,
    *,
    skip_duplicates: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import every row, or none: ImportRefused (listing each bad row) when any row is bad."""
    fields_for(kind)
    parsed = csvfile.parse(content)
    mapping = check_mapping(kind, parsed.headers, mapping or guess_mapping(kind, parsed.headers))
    savepoint = db.session.begin_nested()
    try:
        result = _import_rows(
            kind, parsed, mapping, skip_duplicates=skip_duplicates, progress=progress
        )
    except BaseException:
        savepoint.rollback()
        raise
    if result.bad_rows:
        savepoint.rollback()
        raise ImportRefused(
            _(
                "Nothing was imported: %(count)s rows have errors. Correct them and try again.",
                count=len(result.bad_rows),
            ),
            result,
        )
    savepoint.commit()
    record(
        "import",
        object_type=kind,
        label=kind,
        changes={"created": [None, result.count("new")], "skipped": [None, result.count("skip")]},
    )
    db.session.flush()
    return result


def stage_upload(
    *, kind: str, content: bytes, filename: str, mapping: dict, skip_duplicates: bool, user_id
) -> CsvImport:
    """Keep an uploaded file between preview and confirm (flushes, never commits)."""
    upload = CsvImport(
        kind=kind,
        content=content,
        filename=(filename or "")[:255],
        mapping=mapping,
        skip_duplicates=skip_duplicates,
        user_id=user_id,
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def import_staged(upload: CsvImport, *, now: dt.datetime, progress=None) -> ImportResult:
    """Import a staged upload exactly as previewed; refused when it was imported already."""
    if upload.imported_at is not None:
        raise ServiceError(_("This file has already been imported."))
    result = import_file(
        upload.kind,
        upload.content,
        upload.mapping,
        skip_duplicates=upload.skip_duplicates,
        progress=progress,
    )
    upload.imported_at = now
    db.session.flush()
    return result


# --- export -----------------------------------------------------------------------------


def _headers(fields: dict, names) -> list[str]:
    return [str(fields[name][0]) for name in names]


def export_organisations(*, delimiter: str = ";") -> str:
    """Every organisation as CSV text for spreadsheets (headers in the user's language)."""
    stmt = (
        select(Organisation)
        .order_by(Organisation.name, Organisation.id)
        .options(selectinload(Organisation.tags))
    )

    def rows():
        for org in db.session.scalars(stmt):
            yield [
                ", ".join(t.name for t in org.tags)
                if name == "tags"
                else getattr(getattr(org, name), "value", getattr(org, name))
                for name in EXPORT_ORGANISATION_FIELDS
            ]

    text = csvfile.write(
        _headers(ORGANISATION_FIELDS, EXPORT_ORGANISATION_FIELDS), rows(), delimiter=delimiter
    )
    record("export", object_type="organisation", label="organisations.csv")
    return text


def export_contacts(*, delimiter: str = ";") -> str:
    """Contacts as CSV text, without sensitive fields, restricted or erased contacts."""
    from crm.privacy.models import ContactPrivacy

    hidden = select(ContactPrivacy.contact_id).where(
        ContactPrivacy.restricted_at.is_not(None) | ContactPrivacy.erased_at.is_not(None)
    )
    stmt = (
        select(Contact)
        .where(Contact.id.not_in(hidden))
        .order_by(Contact.last_name, Contact.first_name, Contact.id)
        .options(
            selectinload(Contact.tags),
            selectinload(Contact.memberships).selectinload(Membership.organisation),
        )
    )

    def rows():
        for contact in db.session.scalars(stmt):
            current = [m for m in contact.memberships if m.is_current]
            first = current[0] if current else None
            out = []
            for name in EXPORT_CONTACT_FIELDS:
                if name == "tags":
                    out.append(", ".join(t.name for t in contact.tags))
                elif name == "organisation":
                    out.append(first.organisation.name if first else "")
                elif name == "role":
                    out.append(first.role if first else "")
                else:
                    value = getattr(contact, name)
                    out.append(getattr(value, "value", value) or "")
            yield out

    text = csvfile.write(
        _headers(CONTACT_FIELDS, EXPORT_CONTACT_FIELDS), rows(), delimiter=delimiter
    )
    record("export", object_type="contact", label="contacts.csv")
    return text
