"""Rules for partner organisations."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from crm.calendars.models import Subscription
from crm.contacts.models import Membership
from crm.db import like_pattern
from crm.enums import OrganisationKind, TwinCityCategory
from crm.errors import ServiceError
from crm.events.models import Participation
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus, Interaction
from crm.i18n import is_country
from crm.locking import check_version
from crm.organisations.models import Organisation
from crm.protocol.models import Gift, agreement_party
from crm.tags import Tag, get_tags, parse_tags

FIELDS = (
    "name",
    "kind",
    "country",
    "city",
    "website",
    "notes",
    "represented_country",
    "twin_city_category",
    "twin_city_since",
)


def organisation_query(*, q: str = "", kind: str = "", country: str = "", tag: str = "") -> Select:
    """A SELECT of organisations matching the filters, ordered by name."""
    stmt = select(Organisation).order_by(Organisation.name, Organisation.id)
    if q.strip():
        stmt = stmt.where(Organisation.search_text.like(like_pattern(q), escape="\\"))
    if kind in {k.value for k in OrganisationKind}:  # an unknown kind is ignored
        stmt = stmt.where(Organisation.kind == OrganisationKind(kind))
    if country:
        stmt = stmt.where(Organisation.country == country.upper())
    if tag:
        stmt = stmt.where(Organisation.tags.any(Tag.name == tag.strip().lower()))
    return stmt.options(selectinload(Organisation.tags))


def clean_fields(data: dict) -> dict:
    """Validate and normalise organisation fields; raise ServiceError on the first problem."""
    clean = {k: data[k] for k in FIELDS if k in data}
    if "name" in clean:
        clean["name"] = (clean["name"] or "").strip()
        if not clean["name"]:
            raise ServiceError(_("Enter a name."), field="name")
    if "kind" in clean:
        try:
            clean["kind"] = OrganisationKind(clean["kind"] or OrganisationKind.OTHER)
        except ValueError:
            raise ServiceError(_("Choose a kind from the list."), field="kind") from None
    for key in ("country", "represented_country"):
        if key in clean:
            code = (clean[key] or "").strip().upper() or None
            if code and not is_country(code):
                raise ServiceError(_("Choose a country from the list."), field=key)
            clean[key] = code
    for key in ("city", "website", "notes"):
        if key in clean:
            clean[key] = (clean[key] or "").strip()
    website = clean.get("website")
    if website and not website.startswith(("http://", "https://")):
        clean["website"] = "https://" + website
    if clean.get("twin_city_category"):
        try:
            clean["twin_city_category"] = TwinCityCategory(clean["twin_city_category"])
        except ValueError:
            raise ServiceError(
                _("Choose a relation category from the list."), field="twin_city_category"
            ) from None
    elif "twin_city_category" in clean:
        clean["twin_city_category"] = None
    since = clean.get("twin_city_since")
    if since not in (None, ""):
        try:
            since = int(since)
        except (TypeError, ValueError):
            since = 0
        if not 1000 <= since <= 2999:
            raise ServiceError(_("Enter a year such as 1990."), field="twin_city_since")
        clean["twin_city_since"] = since
    elif "twin_city_since" in clean:
        clean["twin_city_since"] = None
    return clean


def _apply_kind_rules(org: Organisation) -> None:
    """Only a consulate has a represented country; only a twin city a category and a year."""
    if org.kind != OrganisationKind.CONSULATE:
        org.represented_country = None
    if org.kind != OrganisationKind.TWIN_CITY:
        org.twin_city_category = None
        org.twin_city_since = None


def create_organisation(*, tags: str | list[str] | None = None, **data) -> Organisation:
    """Create an organisation (flushes, never commits)."""
    data.setdefault("name", "")
    org = Organisation(**clean_fields(data))
    _apply_kind_rules(org)
    org.tags = get_tags(parse_tags(tags))
    db.session.add(org)
    db.session.flush()
    return org


def update_organisation(
    org: Organisation, *, version: int | None = None, tags=None, **data
) -> Organisation:
    """Update the given fields; refused if the record changed since `version` was read."""
    check_version(org, version)
    for key, value in clean_fields(data).items():
        setattr(org, key, value)
    _apply_kind_rules(org)
    if tags is not None:
        org.tags = get_tags(parse_tags(tags))
    db.session.flush()
    return org


@dataclass(frozen=True)
class LinkedRecords:
    """The records deleting a record would touch, counted; only kinds there are, in order."""

    deleted: dict[str, int]  # deleted with the record (ON DELETE CASCADE)
    unlinked: dict[str, int]  # kept, but they lose their link to it

    def __bool__(self) -> bool:
        return bool(self.deleted or self.unlinked)


def count_linked(*, deleted: dict[str, tuple], unlinked: dict[str, tuple]) -> LinkedRecords:
    """Count the rows of each kind, given as `{kind: (table, *conditions)}`, in one SELECT."""
    kinds = deleted | unlinked
    counts = db.session.execute(
        select(
            *(
                select(func.count()).select_from(table).where(*where).scalar_subquery().label(kind)
                for kind, (table, *where) in kinds.items()
            )
        )
    ).one()
    found = {kind: n for kind, n in counts._asdict().items() if n}
    return LinkedRecords(
        deleted={kind: found[kind] for kind in deleted if kind in found},
        unlinked={kind: found[kind] for kind in unlinked if kind in found},
    )


def linked_records(org: Organisation) -> LinkedRecords:
    """What deleting the organisation deletes with it, and what only loses its link."""
    follow_ups = FollowUp.organisation_id == org.id
    return count_linked(
        deleted={
            "follow_ups": (FollowUp, follow_ups),
            "open_follow_ups": (FollowUp, follow_ups, FollowUp.status == FollowUpStatus.OPEN),
            "interactions": (Interaction, Interaction.organisation_id == org.id),
            "participations": (Participation, Participation.organisation_id == org.id),
            "memberships": (Membership, Membership.organisation_id == org.id),
            # a partner's live calendar feed address stops working
            "feeds": (
                Subscription,
                Subscription.organisation_id == org.id,
                Subscription.revoked_at.is_(None),
            ),
        },
        unlinked={
            # the agreement stays, without this organisation among its parties
            "agreements": (agreement_party, agreement_party.c.organisation_id == org.id),
            "gifts": (Gift, Gift.organisation_id == org.id),
        },
    )


def delete_organisation(
    org: Organisation, *, version: int | None = None, confirmed: bool = True
) -> LinkedRecords | None:
    """Delete an organisation with what links to it; refused if changed since `version`.

    Unless `confirmed`, an organisation that other records link to is kept, and those
    records are returned (counted) for the user to confirm; None means it was deleted.
    """
    check_version(org, version, deleting=True)
    if not confirmed:
        linked = linked_records(org)
        if linked:
            return linked
    db.session.delete(org)
    db.session.flush()
    return None
