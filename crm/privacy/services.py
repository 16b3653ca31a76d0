"""The rights of the people in the CRM: consent, access (export), erasure, restriction, retention.

Every function flushes and never commits; each records itself in the audit trail.
"""

import csv
import datetime as dt
import enum
import io
import json
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Select, func, select, update
from sqlalchemy import inspect as sa_inspect

from crm.audit.models import AuditEntry
from crm.audit.services import ERASED, record, redact_object_history
from crm.contacts.models import Contact, Membership
from crm.db import utcnow
from crm.enums import Language
from crm.errors import ServiceError
from crm.extensions import db
from crm.privacy.models import Consent, ContactPrivacy, LegalBasis, Purpose
from crm.protocol.models import Gift

DEFAULT_SENSITIVE_DAYS = 30
DEFAULT_REVIEW_YEARS = 3


# --- state -------------------------------------------------------------------------------


def privacy_of(contact: Contact | int) -> ContactPrivacy | None:
    """The contact's privacy row, if there is one."""
    contact_id = contact if isinstance(contact, int) else contact.id
    return db.session.get(ContactPrivacy, contact_id)


def _privacy_row(contact: Contact) -> ContactPrivacy:
    row = privacy_of(contact)
    if row is None:
        row = ContactPrivacy(contact_id=contact.id)
        db.session.add(row)
    return row


def is_restricted(contact: Contact | int) -> bool:
    """True while processing of the contact's data is restricted (no mail, export or feed)."""
    row = privacy_of(contact)
    return row is not None and row.restricted_at is not None


def is_erased(contact: Contact | int) -> bool:
    """True once the contact was erased (anonymised)."""
    row = privacy_of(contact)
    return row is not None and row.erased_at is not None


def consents_of(contact: Contact) -> list[Consent]:
    """The contact's consent and legal basis rows, by purpose."""
    return list(
        db.session.scalars(
            select(Consent).where(Consent.contact_id == contact.id).order_by(Consent.purpose)
        )
    )


def _purpose(value) -> Purpose:
    try:
        return Purpose(getattr(value, "value", value))
    except ValueError:
        raise ServiceError(_("Choose a purpose from the list."), field="purpose") from None


def mailable_contact_ids(contact_ids, purpose) -> set[int]:
    """Of the given contacts, those that may be mailed for `purpose` (one query per table)."""
    purpose = _purpose(purpose)
    ids = set(contact_ids)
    if not ids:
        return set()
    blocked = set(
        db.session.scalars(
            select(ContactPrivacy.contact_id).where(
                ContactPrivacy.contact_id.in_(ids),
                (ContactPrivacy.restricted_at.is_not(None))
                | (ContactPrivacy.erased_at.is_not(None)),
            )
        )
    )
    for consent in db.session.scalars(
        select(Consent).where(Consent.contact_id.in_(ids), Consent.purpose == purpose)
    ):
        if not consent.is_active:
            blocked.add(consent.contact_id)
    return ids - blocked


def may_email(contact: Contact | int, purpose) -> bool:
    """May the office mail this contact for `purpose` now?

    No when processing is restricted, the contact was erased, or the recorded basis for the
    purpose is a consent not given or withdrawn. Without a record the purpose's own opt-in
    (e.g. the reminder subscription) decides.
    """
    contact_id = contact if isinstance(contact, int) else contact.id
    return contact_id in mailable_contact_ids({contact_id}, purpose)


# --- consent ----------------------------------------------------------------------------


def record_consent(
    contact: Contact,
    *,
    purpose,
    legal_basis,
    source: str,
    now: dt.datetime | None = None,
) -> Consent:
    """Record the legal basis for a purpose; for consent, that it was given now (via `source`)."""
    now = now or utcnow()
    purpose = _purpose(purpose)
    try:
        basis = LegalBasis(getattr(legal_basis, "value", legal_basis))
    except ValueError:
        raise ServiceError(_("Choose a legal basis from the list."), field="legal_basis") from None
    source = (source or "").strip()
    if not source:
        raise ServiceError(
            _("Say how the consent or basis was obtained, e.g. a signed form."), field="source"
        )
    if len(source) > 200:
        raise ServiceError(_("Use at most %(count)s characters.", count=200), field="source")
    _refuse_if_erased(contact)
    consent = db.session.scalar(
        select(Consent).where(Consent.contact_id == contact.id, Consent.purpose == purpose)
    )
    if consent is None:
        consent = Consent(contact_id=contact.id, purpose=purpose)
        db.session.add(consent)
    consent.legal_basis = basis
    consent.granted_at = now
    consent.granted_source = source
    consent.withdrawn_at = None
    consent.withdrawn_source = ""
    if purpose == Purpose.EVENT_REMINDERS and contact.email:
        from crm.reminders.services import opt_in

        opt_in(contact, source=source, now=now)
    db.session.flush()
    return consent


def withdraw_consent(
    contact: Contact, *, purpose, source: str = "", now: dt.datetime | None = None
) -> Consent:
    """Record that the contact withdrew (or objected) for a purpose; queued mail is cancelled."""
    now = now or utcnow()
    purpose = _purpose(purpose)
    consent = db.session.scalar(
        select(Consent).where(Consent.contact_id == contact.id, Consent.purpose == purpose)
    )
    if consent is None:
        consent = Consent(contact_id=contact.id, purpose=purpose, legal_basis=LegalBasis.CONSENT)
        db.session.add(consent)
    consent.withdrawn_at = now
    consent.withdrawn_source = (source or "").strip()[:200] or "staff"
    if purpose == Purpose.EVENT_REMINDERS:
        from crm.reminders.services import unsubscribe

        unsubscribe(contact.id, now=now)
    db.session.flush()
    return consent


# --- restriction ------------------------------------------------------------------------


def _mail_to(contact_id: int):
    """The outbox rows addressed to the person."""
    from crm.reminders.models import OutboxMessage

    return OutboxMessage.contact_id == contact_id


def _mail_about(contact_id: int):
    """The outbox rows to the person, or to staff about one of the person's follow-ups."""
    from crm.followups.models import FollowUp
    from crm.reminders.models import OutboxMessage

    followup_ids = select(FollowUp.id).where(FollowUp.contact_id == contact_id)
    return _mail_to(contact_id) | OutboxMessage.followup_id.in_(followup_ids)


def _cancel_pending_mail(where, reason: str) -> int:
    from crm.reminders.models import OutboxMessage, OutboxStatus

    result = db.session.execute(
        update(OutboxMessage)
        .where(where, OutboxMessage.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED, last_error=reason, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount


def _revoke_feeds(contact_id: int, now: dt.datetime) -> int:
    from crm.calendars.models import Subscription

    subs = db.session.scalars(
        select(Subscription).where(
            Subscription.contact_id == contact_id, Subscription.revoked_at.is_(None)
        )
    ).all()
    for sub in subs:
        sub.revoked_at = now
        record(
            "token_revoke",
            sub,
            label=f"Subscription #{sub.id}",
            changes={"reason": [None, "privacy"]},
        )
    return len(subs)


def _refuse_if_erased(contact: Contact) -> None:
    if is_erased(contact):
        raise ServiceError(_("This contact was erased."))


def restrict_contact(
    contact: Contact, *, reason: str, now: dt.datetime | None = None
) -> ContactPrivacy:
    """Restrict processing: no mail (queued mail cancelled), no export, feeds revoked."""
    now = now or utcnow()
    _refuse_if_erased(contact)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(_("Say why processing is restricted."), field="reason")
    row = _privacy_row(contact)
    if row.restricted_at is not None:
        raise ServiceError(_("Processing of this contact's data is already restricted."))
    row.restricted_at = now
    row.restriction_reason = reason[:2000]
    cancelled = _cancel_pending_mail(_mail_to(contact.id), "restricted")
    revoked = _revoke_feeds(contact.id, now)
    record(
        "restrict",
        contact,
        changes={
            "restricted": [False, True],
            "mail_cancelled": [None, cancelled],
            "feeds_revoked": [None, revoked],
        },
    )
    db.session.flush()
    return row


def lift_restriction(contact: Contact, *, now: dt.datetime | None = None) -> ContactPrivacy:
    """End a restriction (revoked feed addresses stay revoked: make new ones if wanted)."""
    row = privacy_of(contact)
    if row is None or row.restricted_at is None:
        raise ServiceError(_("Processing of this contact's data is not restricted."))
    row.restricted_at = None
    row.restriction_reason = ""
    record("unrestrict", contact, changes={"restricted": [True, False]})
    db.session.flush()
    return row


# --- export (right of access) -----------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return str(value)


def _columns(obj: Any, skip=()) -> dict[str, Any]:
    """Every column of a row as JSON-friendly values (secrets such as hashes left out)."""
    return {
        attr.key: _plain(getattr(obj, attr.key))
        for attr in sa_inspect(type(obj)).column_attrs
        if attr.key not in skip and not attr.key.endswith("_hash") and attr.key != "search_text"
    }


def _rows(model, column, contact_id: int, skip=()) -> list[dict]:
    stmt = select(model).where(column == contact_id).order_by(*sa_inspect(model).primary_key)
    return [_columns(row, skip) for row in db.session.scalars(stmt)]


def _export_sections(contact: Contact) -> dict[str, list[dict] | dict]:
    from crm.calendars.models import Subscription
    from crm.events.models import Participation
    from crm.followups.models import FollowUp, Interaction
    from crm.reminders.models import OutboxMessage, ReminderSubscription
    from crm.tags import contact_tag

    cid = contact.id
    memberships = [
        {**_columns(m), "organisation": m.organisation.name}
        for m in db.session.scalars(select(Membership).where(Membership.contact_id == cid))
    ]
    participations = [
        {**_columns(p), "event": p.event.title, "event_starts_at": _plain(p.event.starts_at)}
        for p in db.session.scalars(
            select(Participation).where(Participation.contact_id == cid).order_by(Participation.id)
        )
    ]
    tag_ids = [
        name
        for (name,) in db.session.execute(
            select(contact_tag.c.tag_id).where(contact_tag.c.contact_id == cid)
        )
    ]
    audit = [
        _columns(entry, skip=("user_id",))
        for entry in db.session.scalars(
            select(AuditEntry)
            .where(
                ((AuditEntry.object_type == "contact") & (AuditEntry.object_id == cid))
                | (
                    (AuditEntry.object_type == "consent")
                    & AuditEntry.object_id.in_(select(Consent.id).where(Consent.contact_id == cid))
                )
            )
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    ]
    return {
        "contact": {**_columns(contact), "tags": [t.name for t in contact.tags]},
        "contact_tag": [{"tag_id": t} for t in tag_ids],
        "contact_privacy": _rows(ContactPrivacy, ContactPrivacy.contact_id, cid),
        "membership": memberships,
        "participation": participations,
        "interaction": _rows(Interaction, Interaction.contact_id, cid),
        "follow_up": _rows(FollowUp, FollowUp.contact_id, cid),
        "consent": _rows(Consent, Consent.contact_id, cid),
        "reminder_subscription": _rows(ReminderSubscription, ReminderSubscription.contact_id, cid),
        "subscription": _rows(Subscription, Subscription.contact_id, cid),
        "outbox_message": _rows(
            OutboxMessage,
            OutboxMessage.contact_id,
            cid,
            skip=("claimed_by", "claimed_at", "idempotency_key", "fingerprint"),
        ),
        "gift": _rows(Gift, Gift.contact_id, cid),
        "audit_entry": audit,
    }


# Tables whose rows about a contact the export includes; a test compares this with every
# table that has a foreign key to contact.id, so a new table cannot be forgotten.
EXPORTED_TABLES = frozenset(
    {
        "contact_tag",
        "contact_privacy",
        "membership",
        "participation",
        "interaction",
        "follow_up",
        "consent",
        "reminder_subscription",
        "subscription",
        "outbox_message",
        "gift",
    }
)


def export_contact(
    contact: Contact,
    *,
    for_data_subject: bool = False,
    fmt: str = "json",
    now: dt.datetime | None = None,
) -> dict:
    """Everything the CRM holds about a contact (GDPR art. 15), as a dict of sections.

    A restricted contact's data is exported only to the person themselves
    (`for_data_subject`). The export is recorded in the audit trail.
    """
    if is_restricted(contact) and not for_data_subject:
        raise ServiceError(
            _(
                "Processing of this contact's data is restricted: it can only be exported "
                "for the person themselves."
            ),
            field="for_data_subject",
        )
    if fmt not in ("json", "csv"):
        raise ServiceError(_("Choose JSON or CSV."), field="fmt")
    data = {
        "exported_at": (now or utcnow()).isoformat(),
        "contact_id": contact.id,
        "sections": _export_sections(contact),
    }
    record(
        "export",
        contact,
        changes={"format": [None, fmt], "for_data_subject": [None, bool(for_data_subject)]},
    )
    db.session.flush()
    return data


def export_as_json(data: dict) -> str:
    """The export as indented JSON text."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)


def export_as_csv(data: dict) -> str:
    """The export as one CSV table: section, row number, field, value (safe for spreadsheets)."""
    from crm.imports.csvfile import safe_cell

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "row", "field", "value"])
    for section, rows in data["sections"].items():
        for number, row in enumerate(rows if isinstance(rows, list) else [rows], start=1):
            for key, value in row.items():
                if isinstance(value, list | dict):
                    value = json.dumps(value, ensure_ascii=False)
                writer.writerow([section, number, key, safe_cell("" if value is None else value)])
    return "\ufeff" + out.getvalue()


# --- erasure ----------------------------------------------------------------------------


def _names_person(value: Any, name: str) -> bool:
    return bool(name) and isinstance(value, str) and name.casefold() in value.casefold()


def _erase_from_gifts(contact: Contact, replacement: str) -> dict[int, set[str]]:
    """Gifts to or from the person keep their value and date, not the person's name.

    Returns the fields erased on each gift, by gift id.
    """
    name = contact.name
    erased = {}
    for gift in db.session.scalars(select(Gift).where(Gift.contact_id == contact.id)):
        fields = {"notes"}
        for key in ("giver", "recipient"):
            if _names_person(getattr(gift, key), name):
                setattr(gift, key, replacement)
                fields.add(key)
        gift.notes = ""
        erased[gift.id] = fields
    return erased


def erased_name(contact_id: int) -> str:
    """The name an erased contact keeps (so counts and lists still make sense)."""
    return _("Erased contact #%(id)s", id=contact_id)


def erase_contact(contact: Contact, *, reason: str = "", now: dt.datetime | None = None) -> Contact:
    """Erase a contact by anonymisation (GDPR art. 17); aggregates such as participations stay.

    Names and contact details go, sensitive needs and notes are cleared, follow-ups keep
    their status, dates and assignee but not their text, queued mail to or about the person is
    cancelled, and all such mail loses its text (mail to them the address too), feed addresses
    are revoked, consents are withdrawn, and the audit trail's values about the person are
    redacted. Free text elsewhere (an event's description, a programme item's "who") is not
    searched.
    """
    from crm.followups.models import FollowUp, Interaction
    from crm.reminders.models import OutboxMessage, ReminderSubscription

    now = now or utcnow()
    _refuse_if_erased(contact)
    cid = contact.id
    name = contact.name
    # Rows stay (cancelled or sent): their idempotency keys keep planners from queueing the
    # mail again, and the outbox still shows that something was sent when.
    about_them = _mail_about(cid)
    cancelled = _cancel_pending_mail(about_them, "erased")
    db.session.execute(
        update(OutboxMessage)
        .where(about_them)
        .values(subject=ERASED, body_text="", body_html="", fingerprint="", last_error=ERASED),
        execution_options={"synchronize_session": False},
    )
    # Staff mail about their follow-ups keeps the staff recipient; mail to them loses theirs.
    db.session.execute(
        update(OutboxMessage).where(_mail_to(cid)).values(recipient_email="", recipient_name=""),
        execution_options={"synchronize_session": False},
    )
    revoked = _revoke_feeds(cid, now)
    for sub in db.session.scalars(
        select(ReminderSubscription).where(ReminderSubscription.contact_id == cid)
    ):
        sub.unsubscribed_at = sub.unsubscribed_at or now
        sub.source = ""
    consents = consents_of(contact)
    for consent in consents:
        consent.withdrawn_at = consent.withdrawn_at or now
        consent.granted_source = ""
        consent.withdrawn_source = "erasure"
    db.session.execute(
        update(Interaction).where(Interaction.contact_id == cid).values(note=""),
        execution_options={"synchronize_session": False},
    )
    # Follow-ups still count in the office's statistics; their text names the person. Through
    # the ORM, so the version goes up and an edit form opened before cannot write it back.
    for followup in db.session.scalars(select(FollowUp).where(FollowUp.contact_id == cid)):
        followup.title = _("Follow-up about an erased contact")
        followup.outcome = ""
    for membership in contact.memberships:
        membership.role = ""
    erased_gift_fields = _erase_from_gifts(contact, erased_name(cid))
    contact.first_name = ""
    contact.last_name = erased_name(cid)
    for key in (
        "title",
        "email",
        "other_emails",
        "phone",
        "languages",
        "dietary_needs",
        "access_needs",
        "notes",
    ):
        setattr(contact, key, "")
    contact.nationality = None
    contact.preferred_language = Language.EN
    contact.tags = []
    row = _privacy_row(contact)
    row.erased_at = now
    row.restricted_at = None
    row.restriction_reason = ""
    row.sensitive_cleared_at = now
    db.session.flush()  # the audit listener writes the update entry, redacted next
    redacted = redact_object_history("contact", cid)
    for consent in consents:
        redacted += redact_object_history("consent", consent.id)
    for membership in contact.memberships:
        redacted += redact_object_history("membership", membership.id)  # roles name people too
    for gift_id, fields in erased_gift_fields.items():
        # The gift stays in the register: its description, direction and value are not personal.
        redacted += redact_object_history(
            "gift",
            gift_id,
            about=lambda key, value, fields=fields: key in fields or _names_person(value, name),
        )
    record(
        "erase",
        contact,
        label=erased_name(cid),
        changes={
            "reason": [None, (reason or "").strip()[:500]],
            "mail_cancelled": [None, cancelled],
            "feeds_revoked": [None, revoked],
            "entries_redacted": [None, redacted],
        },
    )
    db.session.flush()
    return contact


# --- retention --------------------------------------------------------------------------


@dataclass
class RetentionResult:
    """What a retention run did."""

    cleared: int = 0
    flagged: int = 0
    unflagged: int = 0


def retention_settings() -> tuple[int, int]:
    """(days to keep dietary/access needs after the last event, inactive years before review)."""
    config = current_app.config
    days = int(config.get("RETENTION_SENSITIVE_DAYS", DEFAULT_SENSITIVE_DAYS))
    years = int(config.get("RETENTION_REVIEW_YEARS", DEFAULT_REVIEW_YEARS))
    return days, years


def _last_event_ends() -> Select:
    from crm.events.models import Event, Participation

    return (
        select(Participation.contact_id, func.max(Event.ends_at).label("last_end"))
        .join(Event, Event.id == Participation.event_id)
        .where(Participation.contact_id.is_not(None), Event.deleted_at.is_(None))
        .group_by(Participation.contact_id)
    )


def run_retention(*, now: dt.datetime) -> RetentionResult:
    """The nightly retention job: delete old dietary/access needs, flag inactive contacts."""
    from crm.followups.models import Interaction

    days, years = retention_settings()
    result = RetentionResult()
    last_end = dict(db.session.execute(_last_event_ends()).all())

    # 1. Sensitive needs go `days` after the contact's last event (none still to come).
    cutoff = now - dt.timedelta(days=days)
    with_needs = db.session.scalars(
        select(Contact).where((Contact.dietary_needs != "") | (Contact.access_needs != ""))
    ).all()
    for contact in with_needs:
        ended = last_end.get(contact.id)
        if ended is None or ended > cutoff:
            continue  # never at an event (needs recorded for one to come), or too recent
        contact.dietary_needs = ""
        contact.access_needs = ""
        _privacy_row(contact).sensitive_cleared_at = now
        record(
            "retention",
            contact,
            changes={"dietary_needs": ["(changed)", ""], "access_needs": ["(changed)", ""]},
        )
        result.cleared += 1

    # 2. Contacts without activity for `years` are flagged for a person to review.
    review_cutoff = (now - dt.timedelta(days=365 * years)).date()
    last_interaction = dict(
        db.session.execute(
            select(Interaction.contact_id, func.max(Interaction.occurred_on))
            .where(Interaction.contact_id.is_not(None))
            .group_by(Interaction.contact_id)
        ).all()
    )
    privacy_rows = {row.contact_id: row for row in db.session.scalars(select(ContactPrivacy))}
    for contact_id, created_at in db.session.execute(select(Contact.id, Contact.created_at)):
        row = privacy_rows.get(contact_id)
        if row is not None and row.erased_at is not None:
            continue
        dates = [created_at.date()]
        if contact_id in last_end:
            dates.append(last_end[contact_id].date())
        if contact_id in last_interaction:
            dates.append(last_interaction[contact_id])
        if row is not None and row.last_activity_on:
            dates.append(row.last_activity_on)  # a reviewer decided to keep the contact
        last = max(dates)
        flagged = row is not None and row.review_flagged_at is not None
        if last < review_cutoff and not flagged:
            row = row or ContactPrivacy(contact_id=contact_id)
            db.session.add(row)
            row.review_flagged_at = now
            record(
                "retention",
                object_type="contact",
                object_id=contact_id,
                label=f"Contact #{contact_id}",
                changes={"review": [None, "flagged"], "last_activity_on": [None, last.isoformat()]},
            )
            result.flagged += 1
        elif last >= review_cutoff and flagged:
            row.review_flagged_at = None
            result.unflagged += 1
    db.session.flush()
    return result


def keep_after_review(contact: Contact, *, now: dt.datetime | None = None) -> ContactPrivacy:
    """A reviewer decided to keep a flagged contact: the clock starts again today."""
    now = now or utcnow()
    row = _privacy_row(contact)
    row.review_flagged_at = None
    row.last_activity_on = now.date()
    record("retention", contact, changes={"review": ["flagged", "kept"]})
    db.session.flush()
    return row


def review_query() -> Select:
    """A SELECT of contacts flagged for review, oldest flag first."""
    return (
        select(Contact)
        .join(ContactPrivacy, ContactPrivacy.contact_id == Contact.id)
        .where(ContactPrivacy.review_flagged_at.is_not(None), ContactPrivacy.erased_at.is_(None))
        .order_by(ContactPrivacy.review_flagged_at, Contact.id)
    )
