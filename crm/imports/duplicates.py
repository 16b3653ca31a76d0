"""Finding contacts that are probably the same person, and merging two into one.

The rules: the same email address (case-insensitive, any of either contact's addresses), or
a similar name in the same organisation, where "similar" forgives case, accents, word order
and the usual spellings of æ, ø and å without those letters (ae, oe/o, aa/a).
"""

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.orm import selectinload

from crm.audit.services import record
from crm.contacts.models import Contact, Membership, name_key, split_emails
from crm.contacts.services import FIELDS as CONTACT_FIELDS
from crm.errors import ServiceError
from crm.extensions import db
from crm.locking import check_version

# Fields of a contact that the merge screen lets the user pick from either record.
MERGE_FIELDS = tuple(f for f in CONTACT_FIELDS if f != "other_emails")


def email_keys(emails) -> set[str]:
    """Email addresses folded for comparison."""
    return {e.strip().casefold() for e in emails if e and e.strip()}


@dataclass
class Duplicate:
    """Another contact that may be the same person, and why."""

    contact: Contact
    reasons: list[str] = field(default_factory=list)


def _erased_ids() -> Select:
    from crm.privacy.models import ContactPrivacy

    return select(ContactPrivacy.contact_id).where(ContactPrivacy.erased_at.is_not(None))


def find_duplicates(
    *,
    first_name: str = "",
    last_name: str = "",
    emails=(),
    organisation_ids=(),
    exclude_id: int | None = None,
) -> list[Duplicate]:
    """Existing contacts matching by email or by similar name in one of the organisations.

    One query finds the candidates by index (the contacts with one of the addresses, and the
    members of the organisations with the same name key), reading only their addresses; the
    address rule is checked here, and only the matches are loaded whole (a second query,
    when there are any).
    """
    wanted = email_keys(emails)
    key = name_key(first_name, last_name)
    org_ids = sorted({i for i in organisation_ids if i})

    def candidates(stmt: Select, *criteria) -> Select:
        stmt = stmt.where(*criteria, Contact.id.not_in(_erased_ids()))
        return stmt.where(Contact.id != exclude_id) if exclude_id else stmt

    arms = []
    if wanted:
        by_email = select(Contact.id, false(), Contact.email, Contact.other_emails)
        # ix_contact_email_lower; SQLite's lower() folds only ASCII (the rule is checked below).
        arms.append(candidates(by_email, func.lower(Contact.email).in_(wanted)))
        # ix_contact_other_emails: only the few contacts with other addresses are searched.
        escaped = (w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") for w in wanted)
        like = (func.lower(Contact.other_emails).like(f"%{e}%", escape="\\") for e in escaped)
        # The '' is written out, not bound, so that PostgreSQL's cached plans use the index too.
        has_others = Contact.other_emails != literal_column("''")
        arms.append(candidates(by_email, has_others, or_(*like)))
    if key and org_ids:
        # Members with the same name key (ix_contact_name_key: a few contacts, however many
        # members the organisations have). One sharing an address is also found above.
        members = (
            select(Contact.id, true(), null(), null())
            .join(Membership, Membership.contact_id == Contact.id)
            .where(Contact.name_key == key)
        )
        arms.append(candidates(members, Membership.organisation_id.in_(org_ids)))
    if not arms:
        return []
    same_email, same_name = set(), set()
    rows = db.session.execute(arms[0] if len(arms) == 1 else union_all(*arms))
    for contact_id, is_member, email, other in rows:
        if is_member:
            same_name.add(contact_id)
        elif email.strip().casefold() in wanted or email_keys(split_emails("", other)) & wanted:
            same_email.add(contact_id)
    if not same_email and not same_name:
        return []
    duplicates = []
    for contact in db.session.scalars(
        select(Contact).where(Contact.id.in_(same_email | same_name)).order_by(Contact.id)
    ):
        duplicate = Duplicate(contact)
        if contact.id in same_email:
            duplicate.reasons.append(_("same email address"))
        if contact.id in same_name:
            duplicate.reasons.append(_("similar name in the same organisation"))
        duplicates.append(duplicate)
    return duplicates


def duplicates_of(contact: Contact) -> list[Duplicate]:
    """Other contacts that may be the same person as `contact`."""
    return find_duplicates(
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=contact.all_emails,
        organisation_ids=[m.organisation_id for m in contact.memberships],
        exclude_id=contact.id,
    )


class DuplicateIndex:
    """Every contact's email and name-in-organisation keys, to check thousands of rows at once."""

    def __init__(self):
        self.by_email: dict[str, int] = {}
        self.by_name: dict[tuple[int, str], int] = {}
        self.labels: dict[int, str] = {}
        erased = set(db.session.scalars(_erased_ids()))
        rows = db.session.execute(
            select(
                Contact.id,
                Contact.first_name,
                Contact.last_name,
                Contact.email,
                Contact.other_emails,
                Contact.name_key,
            )
        )
        names = {}
        for contact_id, first, last, email, other, key in rows:
            if contact_id in erased:
                continue
            names[contact_id] = key
            self.labels[contact_id] = " ".join(p for p in (first, last) if p)
            for key in email_keys([email, *re.split(r"[,\n]", other or "")]):
                self.by_email.setdefault(key, contact_id)
        for contact_id, org_id in db.session.execute(
            select(Membership.contact_id, Membership.organisation_id)
        ):
            if contact_id in names:
                self.by_name.setdefault((org_id, names[contact_id]), contact_id)

    def match(self, *, first_name: str, last_name: str, emails, organisation_id: int | None):
        """(contact id, reason) of the first match, else None."""
        for key in email_keys(emails):
            if key in self.by_email:
                return self.by_email[key], "email"
        if organisation_id:
            key = name_key(first_name, last_name)
            if key and (organisation_id, key) in self.by_name:
                return self.by_name[(organisation_id, key)], "name"
        return None

    def add(self, contact_id: int, label: str, *, first_name, last_name, emails, organisation_id):
        """Remember a contact created during this import (so the file's own repeats are found)."""
        self.labels[contact_id] = label
        for key in email_keys(emails):
            self.by_email.setdefault(key, contact_id)
        if organisation_id:
            self.by_name.setdefault((organisation_id, name_key(first_name, last_name)), contact_id)


def _unique_emails(*lists) -> list[str]:
    seen, result = set(), []
    for email in (e for items in lists for e in items):
        if email and email.casefold() not in seen:
            seen.add(email.casefold())
            result.append(email)
    return result


def merge_contacts(
    kept: Contact,
    other: Contact,
    *,
    choices: dict[str, str] | None = None,
    kept_version: int | None = None,
    other_version: int | None = None,
) -> Contact:
    """Merge `other` into `kept` and delete `other` (flushes, never commits).

    `choices` names, per field of MERGE_FIELDS, which record's value to keep ("kept" or
    "other"; default "kept", or "other" where the kept one is empty). Every address of both
    stays. Memberships, participations, interactions, follow-ups, subscriptions, consents,
    mail and privacy state move to the kept record.
    """
    from crm.privacy import services as privacy

    if kept.id == other.id:
        raise ServiceError(_("Choose two different contacts."))
    check_version(kept, kept_version)
    check_version(other, other_version)
    if privacy.is_erased(kept) or privacy.is_erased(other):
        raise ServiceError(_("An erased contact cannot be merged."))
    choices = choices or {}
    for name in MERGE_FIELDS:
        choice = choices.get(name) or ("other" if not getattr(kept, name) else "kept")
        if choice not in ("kept", "other"):
            raise ServiceError(_("Choose one of the two values."), field=name)
        if choice == "other":
            setattr(kept, name, getattr(other, name))
    emails = _unique_emails(kept.all_emails, other.all_emails)
    kept.email = emails[0] if emails else ""
    kept.other_emails = "\n".join(emails[1:])
    kept.tags = sorted({*kept.tags, *other.tags}, key=lambda t: t.name)
    moved = _move_rows(kept.id, other.id)
    db.session.flush()
    label = other.name
    other_id = other.id
    db.session.expire(other)
    db.session.delete(other)
    db.session.flush()
    record(
        "merge",
        kept,
        changes={"merged_from": [f"{label} (#{other_id})", None], **moved},
    )
    db.session.flush()
    return kept


def _move_rows(kept_id: int, other_id: int) -> dict[str, list]:
    """Point every row that refers to `other_id` at `kept_id`; returns {table: [count, None]}."""
    from crm.events.models import Participation
    from crm.privacy.models import Consent, ContactPrivacy
    from crm.reminders.models import ReminderSubscription

    counts: dict[str, list] = {}

    # Rows unique per contact (and purpose/event/organisation) are combined, not copied.
    kept_events = set(
        db.session.scalars(
            select(Participation.event_id).where(Participation.contact_id == kept_id)
        )
    )
    for participation in db.session.scalars(
        select(Participation).where(Participation.contact_id == other_id)
    ):
        if participation.event_id in kept_events:
            db.session.delete(participation)
        else:
            participation.contact_id = kept_id
            kept_events.add(participation.event_id)
        counts["participation"] = [counts.get("participation", [0])[0] + 1, None]
    kept_roles = {
        (m.organisation_id, m.role)
        for m in db.session.scalars(select(Membership).where(Membership.contact_id == kept_id))
    }
    for membership in db.session.scalars(
        select(Membership).where(Membership.contact_id == other_id)
    ):
        if (membership.organisation_id, membership.role) in kept_roles:
            db.session.delete(membership)
        else:
            membership.contact_id = kept_id
        counts["membership"] = [counts.get("membership", [0])[0] + 1, None]

    kept_consents = {
        c.purpose: c
        for c in db.session.scalars(select(Consent).where(Consent.contact_id == kept_id))
    }
    for consent in db.session.scalars(select(Consent).where(Consent.contact_id == other_id)):
        mine = kept_consents.get(consent.purpose)
        if mine is None:
            consent.contact_id = kept_id
        else:
            # The later decision of the person wins (a withdrawal after a grant, and vice versa).
            if _latest(consent) > _latest(mine):
                for attr in (
                    "legal_basis",
                    "granted_at",
                    "granted_source",
                    "withdrawn_at",
                    "withdrawn_source",
                ):
                    setattr(mine, attr, getattr(consent, attr))
            db.session.delete(consent)
        counts["consent"] = [counts.get("consent", [0])[0] + 1, None]

    sub_other = db.session.scalar(
        select(ReminderSubscription).where(ReminderSubscription.contact_id == other_id)
    )
    if sub_other is not None:
        sub_kept = db.session.scalar(
            select(ReminderSubscription).where(ReminderSubscription.contact_id == kept_id)
        )
        if sub_kept is None:
            sub_other.contact_id = kept_id
        else:
            if sub_other.unsubscribed_at and (
                sub_kept.opted_in_at is None or sub_other.unsubscribed_at > sub_kept.opted_in_at
            ):
                sub_kept.unsubscribed_at = sub_kept.unsubscribed_at or sub_other.unsubscribed_at
            elif sub_kept.opted_in_at is None and sub_other.opted_in_at:
                sub_kept.opted_in_at, sub_kept.source = sub_other.opted_in_at, sub_other.source
            db.session.delete(sub_other)
        counts["reminder_subscription"] = [1, None]

    privacy_other = db.session.get(ContactPrivacy, other_id)
    if privacy_other is not None:
        privacy_kept = db.session.get(ContactPrivacy, kept_id)
        if privacy_kept is None:
            privacy_kept = ContactPrivacy(contact_id=kept_id)
            db.session.add(privacy_kept)
        # A restriction asked for under either record still applies to the person.
        if privacy_other.restricted_at and not privacy_kept.restricted_at:
            privacy_kept.restricted_at = privacy_other.restricted_at
            privacy_kept.restriction_reason = privacy_other.restriction_reason
        db.session.delete(privacy_other)
    db.session.flush()

    # Every other table that refers to contacts (follow-ups, interactions, feed subscriptions,
    # mail, and tables added later) is repointed generically, so none keeps the old id.
    handled = {
        "participation",
        "membership",
        "consent",
        "reminder_subscription",
        "contact_privacy",
        "contact_tag",  # the tags are joined on the model; the old rows go with the contact
    }
    contact_table = Contact.__table__
    for table in db.metadata.sorted_tables:
        if table.name in handled:
            continue
        for fk in table.foreign_keys:
            if fk.column.table is not contact_table:
                continue
            result = db.session.execute(
                update(table).where(fk.parent == other_id).values({fk.parent.name: kept_id})
            )
            if result.rowcount:
                counts[table.name] = [result.rowcount, None]
    return counts


def _latest(consent) -> object:
    import datetime as dt

    stamps = [s for s in (consent.granted_at, consent.withdrawn_at, consent.updated_at) if s]
    return max(stamps) if stamps else dt.datetime.min.replace(tzinfo=dt.UTC)


def merge_candidates(contact: Contact) -> list[Contact]:
    """The contacts the merge screen offers for `contact` (its duplicates)."""
    return [d.contact for d in duplicates_of(contact)]


def load_for_merge(contact_id: int) -> Contact | None:
    """A contact with what the merge screen shows."""
    return db.session.get(
        Contact,
        contact_id,
        options=[selectinload(Contact.tags), selectinload(Contact.memberships)],
    )
