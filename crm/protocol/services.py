"""Rules of the protocol office: programme details and conflicts, agreements, gifts, follow-up."""

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale, format_decimal
from flask_babel import gettext as _
from sqlalchemy import Select, and_, inspect, or_, select
from sqlalchemy.orm import joinedload, selectinload

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import like_pattern, utcnow
from crm.enums import EventStatus, ParticipationRole, TwinCityCategory
from crm.errors import ConflictError, NotFoundError, ServiceError
from crm.events.models import Event, Participation, ProgrammeItem
from crm.extensions import db
from crm.locking import check_version
from crm.locking import conflict_message as edited_meanwhile
from crm.organisations.models import Organisation
from crm.protocol import conflicts as cf
from crm.protocol.models import (
    DETAIL_COLUMNS,
    EXPIRING_WITHIN,
    Agreement,
    AgreementState,
    FollowUpProposal,
    Gift,
    GiftDirection,
    ProgrammeItemDetail,
    agreement_party,
)

DETAIL_FIELDS = {
    "address": 300,
    "our_hosts": 5000,
    "partner_hosts": 5000,
    "interpreter": 200,
    "transport": 5000,
    "notes": 10000,
}
# Agreement reminders go out this many days before the expiry and the notice date.
# A gift's value in øre: ten million kroner is more than any gift, and fits the column.
MAX_GIFT_ORE = 10_000_000 * 100
AGREEMENT_REMINDER_DAYS = 30
AGREEMENT_REMINDER_TIME = dt.time(8, 0)
# Roles whose organisations or contacts get the automatic follow-ups of a done event.
PARTNER_ROLES = (
    ParticipationRole.DELEGATE,
    ParticipationRole.PARTNER,
    ParticipationRole.GUEST,
    ParticipationRole.SPEAKER,
    ParticipationRole.SPONSOR,
    ParticipationRole.ORGANISER,
)


# --- programme items -------------------------------------------------------------------


def detail_fingerprint(item: ProgrammeItem) -> str:
    """A short digest of the item's details as they are now (the same for none as for blank).

    The details have no version of their own; a form carries this digest of what it showed,
    so a save over someone else's newer details is refused instead of undoing them.
    """
    values = [getattr(item.detail, name, None) or "" for name in DETAIL_COLUMNS]
    return hashlib.sha256(repr(values).encode()).hexdigest()[:20]


def update_item_detail(
    item: ProgrammeItem, *, seen: str | None = None, **data
) -> ProgrammeItemDetail:
    """Set a programme item's address, hosts, interpreter, transport, notes and sharing.

    `seen` is the detail_fingerprint the user's form was made from; when the details have
    changed since, ConflictError, and nothing changes.
    """
    unknown = set(data) - {*DETAIL_FIELDS, "shared_with_organisation_id"}
    if unknown:
        raise TypeError(f"update_item_detail() got unexpected fields: {sorted(unknown)}")
    if seen is not None and seen != detail_fingerprint(item):
        raise ConflictError(edited_meanwhile())
    clean = {}
    for name, limit in DETAIL_FIELDS.items():
        if name in data:
            clean[name] = (data[name] or "").strip()
            if len(clean[name]) > limit:
                raise ServiceError(_("Use at most %(count)d characters.", count=limit), field=name)
    if "shared_with_organisation_id" in data:
        org_id = data["shared_with_organisation_id"] or None
        if org_id is not None:
            org_id = _get_org(org_id, "shared_with_organisation_id").id
        clean["shared_with_organisation_id"] = org_id
    # Validate everything before a new detail joins the session: bad input changes nothing.
    detail = item.detail or ProgrammeItemDetail(item=item)
    for name, value in clean.items():
        setattr(detail, name, value)
    db.session.add(detail)
    # Bump the event's version: an edit form opened before must not silently keep old data.
    item.event.updated_at = utcnow()
    db.session.flush()
    return detail


def item_slot(item: ProgrammeItem) -> cf.Slot:
    """The conflict-detection view of a programme item."""
    detail = item.detail
    hosts = cf.split_names(
        detail.our_hosts if detail else "", detail.partner_hosts if detail else "", item.who
    )
    return cf.Slot(
        item_id=item.id,
        event_id=item.event_id,
        title=item.title,
        starts_at=item.starts_at,
        ends_at=item.ends_at,
        place=item.place,
        hosts=hosts,
        interpreter=detail.interpreter if detail else "",
        event_title=item.event.title,
    )


def visit_days(event: Event) -> tuple[dt.date, dt.date]:
    """The first and last local day of a visit (inclusive)."""
    if event.is_all_day and event.start_on:
        return event.start_on, event.end_on or event.start_on
    zone = ZoneInfo(event.timezone)
    last = (
        event.ends_at - dt.timedelta(microseconds=1)
        if event.ends_at > event.starts_at
        else event.ends_at
    )
    return event.starts_at.astimezone(zone).date(), last.astimezone(zone).date()


def event_conflicts(event: Event) -> list[cf.Conflict]:
    """Conflicts of an event's programme with itself and with every other live event's items."""
    items = list(event.programme)
    if not items:
        return []
    if any("detail" in inspect(item).unloaded for item in items):
        # One query for every item's details instead of one per item (the event page has
        # read them with the programme already).
        db.session.scalars(
            select(ProgrammeItem)
            .where(ProgrammeItem.event_id == event.id)
            .options(selectinload(ProgrammeItem.detail))
        ).all()
    start = min(i.starts_at for i in items)
    end = max((i.ends_at or i.starts_at + cf.DEFAULT_DURATION) for i in items)
    # Items of other events in the window (ix_programme_item_range); whether their event is
    # live is checked on the few found, as a join made the planner hash every event.
    candidates = db.session.scalars(
        select(ProgrammeItem)
        .where(
            ProgrammeItem.event_id != event.id,
            ProgrammeItem.starts_at < end,
            or_(
                ProgrammeItem.ends_at > start,
                and_(
                    ProgrammeItem.ends_at.is_(None),
                    ProgrammeItem.starts_at > start - cf.DEFAULT_DURATION,
                ),
            ),
        )
        .options(selectinload(ProgrammeItem.event), joinedload(ProgrammeItem.detail))
    ).all()
    others = [
        i
        for i in candidates
        if i.event.deleted_at is None and i.event.status != EventStatus.CANCELLED
    ]
    own = [item_slot(i) for i in items]
    found = [
        c
        for c in cf.find_conflicts(own + [item_slot(i) for i in others])
        if c.first.event_id == event.id or (c.second and c.second.event_id == event.id)
    ]
    first_day, last_day = visit_days(event)
    return cf.visit_conflicts(own, first_day, last_day, event.timezone) + found


def conflict_message(conflict: cf.Conflict, event: Event) -> str:
    """A sentence describing a conflict, in the user's language, times in the event's zone."""
    zone = ZoneInfo(event.timezone)

    def when(slot: cf.Slot) -> str:
        return slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    if conflict.kind == cf.OUTSIDE:
        return _(
            "“%(title)s” (%(when)s) is outside the visit's dates.",
            title=conflict.first.title,
            when=when(conflict.first),
        )
    first, second = conflict.first, conflict.second
    values = {
        "name": conflict.resource,
        "first": first.title,
        "first_when": when(first),
        "second": second.title,
        "second_when": when(second),
    }
    if conflict.kind == cf.HOST or conflict.kind == cf.PLACE:
        text = _(
            "%(name)s is booked twice at once: “%(first)s” (%(first_when)s) and “%(second)s” "
            "(%(second_when)s).",
            **values,
        )
    else:
        text = _(
            "Interpreter %(name)s is booked twice at once: “%(first)s” (%(first_when)s) and "
            "“%(second)s” (%(second_when)s).",
            **values,
        )
    other = first if first.event_id != event.id else second
    if other.event_id != event.id:
        text += " " + _("(event: %(title)s)", title=other.event_title)
    return text


def conflict_warnings(event: Event) -> list[str]:
    """The event's conflicts as sentences for its pages."""
    return [conflict_message(c, event) for c in event_conflicts(event)]


# --- agreements --------------------------------------------------------------------------


def _get_org(org_id, field: str) -> Organisation:
    try:
        org = db.session.get(Organisation, int(org_id))
    except (TypeError, ValueError):
        org = None
    if org is None:
        raise NotFoundError(_("That organisation does not exist."), field=field)
    return org


def _date(value, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        raise ServiceError(_("Enter a date such as 2027-05-17."), field=field)
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ServiceError(_("Enter a date such as 2027-05-17."), field=field) from None


def _responsible(user_id) -> int | None:
    if user_id in (None, "", 0):
        return None
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        user = None
    if user is None or not user.is_active_user:
        raise ServiceError(_("Choose an active staff member."), field="responsible_id")
    return user.id


def _clean_agreement(data: dict) -> dict:
    clean: dict = {}
    if "title" in data:
        clean["title"] = (data["title"] or "").strip()
        if not clean["title"]:
            raise ServiceError(_("Enter a title."), field="title")
        if len(clean["title"]) > 300:
            raise ServiceError(_("Use at most %(count)d characters.", count=300), field="title")
    if "category" in data:
        value = data["category"] or None
        if value is not None:
            try:
                value = TwinCityCategory(value)
            except ValueError:
                raise ServiceError(
                    _("Choose a category from the list."), field="category"
                ) from None
        clean["category"] = value
    for name in ("signed_on", "valid_until", "renewal_on", "notice_on"):
        if name in data:
            clean[name] = _date(data[name], name)
    for name in ("goals", "results"):
        if name in data:
            clean[name] = (data[name] or "").strip()
    if "documents" in data:
        links = [line.strip() for line in (data["documents"] or "").splitlines() if line.strip()]
        for link in links:
            if not link.startswith(("https://", "http://")) or len(link) > 2000:
                raise ServiceError(
                    _("Enter one web address (https://…) per line."), field="documents"
                )
        clean["documents"] = "\n".join(links)
    if "responsible_id" in data:
        clean["responsible_id"] = _responsible(data["responsible_id"])
    return clean


def _check_dates(agreement: Agreement) -> None:
    if (
        agreement.signed_on
        and agreement.valid_until
        and agreement.valid_until < agreement.signed_on
    ):
        raise ServiceError(_("It cannot expire before it was signed."), field="valid_until")
    if (
        agreement.notice_on
        and agreement.valid_until
        and agreement.notice_on > agreement.valid_until
    ):
        raise ServiceError(
            _("The notice date must be on or before the expiry date."), field="notice_on"
        )


def _parties(party_ids) -> list[Organisation]:
    ids = []
    for value in party_ids or []:
        org = _get_org(value, "party_ids")
        if org.id not in ids:
            ids.append(org.id)
    if not ids:
        raise ServiceError(_("Choose at least one party."), field="party_ids")
    return list(db.session.scalars(select(Organisation).where(Organisation.id.in_(ids))))


def create_agreement(*, title: str, party_ids, **data) -> Agreement:
    """Create an agreement with its parties (flushes, never commits)."""
    agreement = Agreement(**_clean_agreement({"title": title, **data}))
    agreement.parties = _parties(party_ids)
    _check_dates(agreement)
    db.session.add(agreement)
    db.session.flush()
    return agreement


def update_agreement(
    agreement: Agreement, *, version: int | None = None, party_ids=None, **data
) -> Agreement:
    """Update an agreement; refused if someone saved it since `version` was read."""
    check_version(agreement, version)
    with db.session.no_autoflush:
        for key, value in _clean_agreement(data).items():
            setattr(agreement, key, value)
        if party_ids is not None:
            agreement.parties = _parties(party_ids)
        _check_dates(agreement)
        agreement.updated_at = utcnow()
    db.session.flush()
    return agreement


def delete_agreement(agreement: Agreement, *, version: int | None = None) -> None:
    """Delete an agreement (its queued reminders are cancelled by the next planning run)."""
    check_version(agreement, version, deleting=True)
    db.session.delete(agreement)
    db.session.flush()


def agreement_query(*, q: str = "", state: str = "", today: dt.date | None = None) -> Select:
    """A SELECT of agreements by title search and state, soonest expiry first."""
    today = today or dt.date.today()
    stmt = select(Agreement).order_by(
        Agreement.valid_until.is_(None), Agreement.valid_until, Agreement.id
    )
    if q.strip():
        stmt = stmt.where(Agreement.title.ilike(like_pattern(q), escape="\\"))
    if state == AgreementState.EXPIRED:
        stmt = stmt.where(Agreement.valid_until < today)
    elif state == AgreementState.EXPIRING:
        stmt = stmt.where(
            Agreement.valid_until >= today, Agreement.valid_until <= today + EXPIRING_WITHIN
        )
    elif state == AgreementState.ACTIVE:
        stmt = stmt.where(
            or_(Agreement.valid_until.is_(None), Agreement.valid_until > today + EXPIRING_WITHIN)
        )
    return stmt.options(selectinload(Agreement.parties), selectinload(Agreement.responsible))


def agreements_for_organisation(org: Organisation) -> list[Agreement]:
    """The agreements an organisation is a party to, soonest expiry first."""
    return list(
        db.session.scalars(
            select(Agreement)
            .join(agreement_party, agreement_party.c.agreement_id == Agreement.id)
            .where(agreement_party.c.organisation_id == org.id)
            .order_by(Agreement.valid_until.is_(None), Agreement.valid_until, Agreement.id)
        )
    )


def agreement_reminder_key(agreement: Agreement, date_kind: str, day: dt.date) -> str:
    """Idempotency key of one agreement reminder: agreement + kind of date + the date."""
    return f"agreement:a{agreement.id}:{date_kind}:{day.isoformat()}"


def agreement_reminder_due(day: dt.date) -> dt.datetime:
    """When the reminder for a date goes out: 08:00 office time, some days before it."""
    zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    send_day = day - dt.timedelta(days=AGREEMENT_REMINDER_DAYS)
    return dt.datetime.combine(send_day, AGREEMENT_REMINDER_TIME, zone).astimezone(dt.UTC)


def plan_agreement_reminders(*, now: dt.datetime, result=None):
    """Queue one reminder per agreement date to its responsible person (idempotent).

    Called by the reminders planner. Rows are made once their send time is within the
    planning horizon; a queued row whose date changed or passed is cancelled.
    """
    from crm.reminders.jobs import PLAN_HORIZON, PlanResult, _user_recipient
    from crm.reminders.models import OutboxMessage, OutboxStatus, RuleKind

    result = result or PlanResult()
    zone = ZoneInfo(current_app.config["OFFICE_TIMEZONE"])
    today = now.astimezone(zone).date()
    horizon = today + dt.timedelta(days=AGREEMENT_REMINDER_DAYS + PLAN_HORIZON.days + 1)
    agreements = db.session.scalars(
        select(Agreement)
        .where(
            or_(
                Agreement.valid_until.between(today, horizon),
                Agreement.notice_on.between(today, horizon),
            )
        )
        .options(selectinload(Agreement.responsible), selectinload(Agreement.parties))
    ).all()
    wanted = {}
    for agreement in agreements:
        recipient = _user_recipient(agreement.responsible)
        if recipient is None:
            continue
        for date_kind, day in (("expiry", agreement.valid_until), ("notice", agreement.notice_on)):
            if day is None or day < today:
                continue
            due = agreement_reminder_due(day)
            if due <= now + PLAN_HORIZON:
                key = agreement_reminder_key(agreement, date_kind, day)
                wanted[key] = (agreement, date_kind, day, due, recipient)
    rows = {
        row.idempotency_key: row
        for row in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == RuleKind.AGREEMENT_DATE)
        )
    }
    for key, row in rows.items():
        if key not in wanted and row.status == OutboxStatus.QUEUED:
            row.status, row.last_error = OutboxStatus.CANCELLED, "agreement date changed or passed"
            result.cancelled += 1
    for key, (agreement, date_kind, day, due, recipient) in wanted.items():
        if key in rows:
            continue
        subject, text, html = _render_agreement_mail(agreement, date_kind, day, recipient)
        db.session.add(
            OutboxMessage(
                idempotency_key=key,
                kind=RuleKind.AGREEMENT_DATE,
                recipient_email=recipient.email,
                recipient_name=recipient.name,
                language=recipient.language,
                subject=subject[:300],
                body_text=text,
                body_html=html,
                due_at=due,
                next_attempt_at=due,
                status=OutboxStatus.QUEUED,
                user_id=recipient.user_id,
            )
        )
        result.created += 1
    db.session.flush()
    return result


def _render_agreement_mail(agreement, date_kind, day, recipient) -> tuple[str, str, str]:
    from crm.reminders.mailer import record_url

    link = record_url("protocol.agreement_show", agreement_id=agreement.id)
    with force_locale(recipient.language):
        if date_kind == "expiry":
            subject = _(
                "Agreement expires on %(date)s: %(title)s",
                date=day.isoformat(),
                title=agreement.title,
            )
        else:
            subject = _(
                "Notice date %(date)s for the agreement %(title)s",
                date=day.isoformat(),
                title=agreement.title,
            )
        context = {
            "agreement": agreement,
            "date_kind": date_kind,
            "day": day,
            "recipient": recipient,
            "link": link,
            "subject": subject,
        }
        text = render_template("protocol/email/agreement_reminder.txt", **context)
        html = render_template("protocol/email/agreement_reminder.html", **context)
    return subject, text, html


# --- gifts ---------------------------------------------------------------------------------


def parse_nok(value) -> int | None:
    """An amount in kroner ("1 250,50", "1250.5", 300) as integer øre; None when blank."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        amount = value * 100
    else:
        text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        text = text.removesuffix("kr").removesuffix("NOK").strip()
        whole, _sep, frac = text.partition(".")
        if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
            raise ServiceError(
                _("Enter an amount in kroner, such as 1250 or 1250,50."), field="value"
            )
        amount = int(whole) * 100 + int((frac or "0").ljust(2, "0"))
    if amount < 0:
        raise ServiceError(_("Enter an amount in kroner, such as 1250 or 1250,50."), field="value")
    if amount > MAX_GIFT_ORE:
        raise ServiceError(
            _(
                "Enter an amount of at most %(max)s kroner.",
                max=format_decimal(MAX_GIFT_ORE // 100),
            ),
            field="value",
        )
    return amount


def format_nok(ore: int | None) -> str:
    """Øre as a plain kroner amount with two decimals ("1250.50"), for exports."""
    if ore is None:
        return ""
    return f"{ore // 100}.{ore % 100:02d}"


def _get_optional(model, record_id, field: str, message: str):
    if record_id in (None, "", 0):
        return None
    try:
        record = db.session.get(model, int(record_id))
    except (TypeError, ValueError):
        record = None
    if record is None:
        raise NotFoundError(message, field=field)
    return record.id


def _clean_gift(data: dict) -> dict:
    clean: dict = {}
    if "description" in data:
        clean["description"] = (data["description"] or "").strip()
        if not clean["description"]:
            raise ServiceError(_("Enter what the gift is."), field="description")
        if len(clean["description"]) > 300:
            raise ServiceError(
                _("Use at most %(count)d characters.", count=300), field="description"
            )
    if "direction" in data:
        try:
            clean["direction"] = GiftDirection(data["direction"])
        except ValueError:
            raise ServiceError(_("Choose given or received."), field="direction") from None
    if "given_on" in data:
        clean["given_on"] = _date(data["given_on"], "given_on")
        if clean["given_on"] is None:
            raise ServiceError(_("Enter a date such as 2027-05-17."), field="given_on")
    for name in ("giver", "recipient", "location"):
        if name in data:
            clean[name] = (data[name] or "").strip()[:300]
    if "notes" in data:
        clean["notes"] = (data["notes"] or "").strip()
    if "value" in data:
        clean["value_ore"] = parse_nok(data["value"])
    if "organisation_id" in data:
        clean["organisation_id"] = _get_optional(
            Organisation,
            data["organisation_id"],
            "organisation_id",
            _("That organisation does not exist."),
        )
    if "contact_id" in data:
        clean["contact_id"] = _get_optional(
            Contact, data["contact_id"], "contact_id", _("That contact does not exist.")
        )
    if "event_id" in data:
        clean["event_id"] = _get_optional(
            Event, data["event_id"], "event_id", _("That event does not exist.")
        )
    return clean


def create_gift(*, description: str, direction: str, given_on, **data) -> Gift:
    """Register a gift given or received (flushes, never commits)."""
    gift = Gift(
        **_clean_gift(
            {"description": description, "direction": direction, "given_on": given_on, **data}
        )
    )
    db.session.add(gift)
    db.session.flush()
    return gift


def update_gift(gift: Gift, *, version: int | None = None, **data) -> Gift:
    """Update a gift; refused if someone saved it since `version` was read."""
    check_version(gift, version)
    for key, value in _clean_gift(data).items():
        setattr(gift, key, value)
    gift.updated_at = utcnow()
    db.session.flush()
    return gift


def gift_query(
    *, year: int | None = None, direction: str = "", q: str = "", event_id=None
) -> Select:
    """A SELECT of gifts by year, direction, text and event, newest first."""
    stmt = select(Gift).order_by(Gift.given_on.desc(), Gift.id.desc())
    if year:
        stmt = stmt.where(Gift.given_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
    if direction in (GiftDirection.GIVEN, GiftDirection.RECEIVED):
        stmt = stmt.where(Gift.direction == direction)
    if q.strip():
        pattern = like_pattern(q)
        stmt = stmt.where(
            or_(
                Gift.description.ilike(pattern, escape="\\"),
                Gift.giver.ilike(pattern, escape="\\"),
                Gift.recipient.ilike(pattern, escape="\\"),
            )
        )
    if event_id:
        stmt = stmt.where(Gift.event_id == event_id)
    return stmt.options(
        selectinload(Gift.event), selectinload(Gift.organisation), selectinload(Gift.contact)
    )


def gifts_for_year(year: int) -> list[Gift]:
    """Every gift of a calendar year, oldest first (for the annual report)."""
    stmt = gift_query(year=year).order_by(None).order_by(Gift.given_on, Gift.id)
    return list(db.session.scalars(stmt))


def gifts_csv(gifts) -> str:
    """The gifts as a spreadsheet-safe CSV text (formula-looking cells are neutralised)."""
    from crm.imports.csvfile import write

    headers = [
        _("Date"),
        _("Direction"),
        _("Gift"),
        _("From"),
        _("To"),
        _("Organisation"),
        _("Contact"),
        _("Value (NOK)"),
        _("Event"),
        _("Where it is now"),
        _("Notes"),
    ]
    rows = (
        [
            g.given_on.isoformat(),
            g.direction.label,
            g.description,
            g.giver,
            g.recipient,
            g.organisation.name if g.organisation else "",
            g.contact.name if g.contact else "",
            format_nok(g.value_ore),
            g.event.title if g.event else "",
            g.location,
            g.notes,
        ]
        for g in gifts
    )
    return write(headers, rows)


# --- automatic follow-up ----------------------------------------------------------------------


def proposed_followups() -> list[tuple[str, int]]:
    """The follow-ups proposed per partner participant: (title, days after the event)."""
    return [
        (_("Send a thank-you"), 3),
        (_("Send photos"), 7),
        (_("Follow up the agreed next steps"), 30),
    ]


def followup_candidates(event: Event) -> list[Participation]:
    """Partner participants of a done event who have had no follow-ups proposed yet."""
    if event.status != EventStatus.DONE:
        return []
    done = set(
        db.session.scalars(
            select(FollowUpProposal.participation_id).where(FollowUpProposal.event_id == event.id)
        )
    )
    return [p for p in event.participations if p.role in PARTNER_ROLES and p.id not in done]


def create_proposed_followups(event: Event, *, actor=None, now: dt.datetime | None = None) -> list:
    """Create the proposed follow-ups for each partner participant, once per participant."""
    from crm.followups.services import create_followup

    if event.status != EventStatus.DONE:
        raise ServiceError(_("Follow-ups are proposed once the event is done."))
    now = now or utcnow()
    base = event.ends_at.astimezone(ZoneInfo(event.timezone)).date()
    assignee_id = event.responsible_id or (actor.id if actor is not None else None)
    created = []
    for participation in followup_candidates(event):
        name = participation.participant.name
        for title, days in proposed_followups():
            created.append(
                create_followup(
                    title=f"{title}: {name}"[:300],
                    due_on=base + dt.timedelta(days=days),
                    assignee_id=assignee_id,
                    event_id=event.id,
                    contact_id=participation.contact_id,
                    organisation_id=participation.organisation_id,
                    actor=actor,
                    now=now,
                )
            )
        db.session.add(FollowUpProposal(event_id=event.id, participation_id=participation.id))
    db.session.flush()
    return created


# --- visitor briefing and the printable programme ---------------------------------------------


def briefing(event: Event) -> dict:
    """What a host needs before a visit: who comes, their history, the programme, open tasks."""
    from crm.followups.models import FollowUp, FollowUpStatus, Interaction

    visitors = [p for p in event.participations if p.role != ParticipationRole.HOST]
    contact_ids = {p.contact_id for p in visitors if p.contact_id}
    org_ids = {p.organisation_id for p in visitors if p.organisation_id}
    earlier = {}
    if contact_ids or org_ids:
        rows = db.session.scalars(
            select(Participation)
            .join(Participation.event)
            .where(
                or_(
                    Participation.contact_id.in_(contact_ids),
                    Participation.organisation_id.in_(org_ids),
                ),
                Participation.event_id != event.id,
                Event.deleted_at.is_(None),
                Event.starts_at < event.starts_at,
            )
            .order_by(Event.starts_at.desc())
            .options(selectinload(Participation.event))
        )
        for row in rows:
            earlier.setdefault(
                ("c", row.contact_id) if row.contact_id else ("o", row.organisation_id), []
            ).append(row.event)
    interactions = {}
    followups = []
    if contact_ids or org_ids:
        for item in db.session.scalars(
            select(Interaction)
            .where(
                or_(
                    Interaction.contact_id.in_(contact_ids),
                    Interaction.organisation_id.in_(org_ids),
                )
            )
            .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
            .limit(500)
        ):
            subject = ("c", item.contact_id) if item.contact_id else ("o", item.organisation_id)
            interactions.setdefault(subject, []).append(item)
        followups = list(
            db.session.scalars(
                select(FollowUp)
                .where(
                    FollowUp.status == FollowUpStatus.OPEN,
                    or_(
                        FollowUp.contact_id.in_(contact_ids), FollowUp.organisation_id.in_(org_ids)
                    ),
                    or_(FollowUp.event_id.is_(None), FollowUp.event_id != event.id),
                )
                .order_by(FollowUp.due_on, FollowUp.id)
                .options(
                    selectinload(FollowUp.contact),
                    selectinload(FollowUp.organisation),
                    selectinload(FollowUp.assignee),
                )
            )
        )

    def key_of(p):
        return ("c", p.contact_id) if p.contact_id else ("o", p.organisation_id)

    return {
        "visitors": [
            {
                "participation": p,
                "earlier_events": earlier.get(key_of(p), [])[:10],
                "interactions": interactions.get(key_of(p), [])[:5],
            }
            for p in visitors
        ],
        "followups": followups,
    }


def programme_pdf(html: str) -> bytes:
    """The printable programme (a self-contained HTML document) as PDF bytes (WeasyPrint)."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    from config import BASE_DIR

    css = CSS(filename=str(BASE_DIR / "static" / "css" / "protocol-print.css"))
    # Nothing is fetched: a programme never makes the server request a URL.
    document = HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=()))
    return document.write_pdf(stylesheets=[css])
