"""Calendar pages, feeds, per-event downloads, the public pages and the .ics import."""

import datetime as dt

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crm.auth.access import editor_required, login_required
from crm.auth.models import User
from crm.calendars import bp, ical, importer, services
from crm.calendars.forms import AddEventForm, CalendarForm, ImportForm, SubscriptionForm
from crm.calendars.models import Calendar, ImportBatch, Subscription
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.enums import EventKind
from crm.errors import ServiceError
from crm.events.models import Event
from crm.extensions import db
from crm.forms import apply_service_error
from crm.i18n import locale_code
from crm.organisations.models import Organisation
from crm.sqlite import writes_on_read

FEED_MAX_AGE = 900  # seconds a client or proxy may reuse a feed without asking
_CACHE_KEY = "calendars.feed_cache"
_CACHE_SIZE = 8
MAX_UPLOAD = 10 * 1024 * 1024


def _calendar_or_404(slug: str) -> Calendar:
    calendar = services.get_calendar(slug)
    if calendar is None:
        abort(404)
    return calendar


def _feed_lang() -> str:
    lang = request.args.get("lang", "nb")
    return lang if lang in current_app.config["LANGUAGES"] else "nb"


def _feed_response(state: services.FeedState, filename: str, *, private: bool) -> Response:
    """200 with the feed, or 304 when the client's copy is current; with validators either way."""
    if state.not_modified(request.if_none_match, request.if_modified_since):
        response = Response(status=304)
    else:
        cache = current_app.extensions.setdefault(_CACHE_KEY, {})
        body = cache.get(state.etag)
        if body is None:
            calendar = db.session.get(Calendar, state.calendar_id)
            body = services.build_feed(
                calendar, state.audience, utcnow(), state.lang, state.organisation_id
            )
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[state.etag] = body
        response = Response(body, content_type="text/calendar; charset=utf-8")
        response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["ETag"] = state.etag
    response.headers["Last-Modified"] = state.last_modified
    scope = "private" if private else "public"
    response.headers["Cache-Control"] = f"{scope}, max-age={FEED_MAX_AGE}"
    return response


@bp.route("/calendars/<slug>.ics")
def public_feed(slug: str):
    """A public calendar's feed (no login): public events only."""
    state = services.public_feed_state(slug, utcnow(), _feed_lang())
    if state is None:
        abort(404)
    return _feed_response(state, f"{slug}.ics", private=False)


@bp.route("/feeds/<token>.ics")
@writes_on_read  # records the fetch time: take SQLite's write lock at BEGIN
def subscription_feed(token: str):
    """A private subscription's feed (no login: the token is the key)."""
    state = services.subscription_feed_state(token, utcnow(), _feed_lang())
    if state is None:
        abort(404)
    db.session.commit()  # the fetch time
    return _feed_response(state, "calendar.ics", private=True)


@bp.route("/events/<int:event_id>.ics")
@login_required
def event_download(event_id: int):
    """One event as an .ics file."""
    event = db.get_or_404(Event, event_id, options=[selectinload(Event.tags)])
    response = Response(ical.event_ics(event), content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="event-{event.id}.ics"'
    return response


def _feed_links(calendar: Calendar) -> dict:
    https = url_for("calendars.public_feed", slug=calendar.slug, _external=True)
    return {"https": https, "webcal": webcal(https)}


def webcal(url: str) -> str:
    """The webcal:// form of a feed address, which calendar apps open as a subscription."""
    return "webcal://" + url.split("://", 1)[1]


@bp.route("/c/<slug>")
def public_page(slug: str):
    """The public page of a public calendar (no login): upcoming events and subscribe links."""
    calendar = _calendar_or_404(slug)
    if not calendar.is_public:
        abort(404)
    now = utcnow()
    events = services.calendar_events(
        calendar,
        audience=services.Audience.PUBLIC,
        start=now,
        end=now + dt.timedelta(days=366),
        limit=200,
    )
    return render_template(
        "calendars/public.html",
        calendar=calendar,
        events=events,
        links=_feed_links(calendar),
        lang=locale_code(),
    )


@bp.route("/calendar")
@login_required
def browse():
    """Month, week and list views of events (read-only) with filters by kind and calendar."""
    calendars = db.session.scalars(select(Calendar).order_by(Calendar.slug)).all()
    return render_template("calendars/browse.html", calendars=calendars, kinds=EventKind.choices())


def _parse_instant(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        abort(400)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@bp.route("/calendars/<slug>/event-ids.json")
@login_required
def event_ids(slug: str):
    """Ids of the calendar's events between `start` and `end` (the browser view's filter)."""
    calendar = _calendar_or_404(slug)
    events = services.calendar_events(
        calendar,
        start=_parse_instant(request.args.get("start")),
        end=_parse_instant(request.args.get("end")),
        include_cancelled=True,
    )
    return jsonify(ids=[e.id for e in events])


@bp.route("/calendars")
@login_required
def index():
    """Every calendar, with its feed addresses."""
    calendars = db.session.scalars(select(Calendar).order_by(Calendar.slug)).all()
    return render_template("calendars/index.html", calendars=calendars, lang=locale_code())


@bp.route("/calendars/new", methods=["GET", "POST"])
@editor_required
def new():
    """Create a calendar."""
    form = CalendarForm()
    if form.validate_on_submit():
        try:
            calendar = services.create_calendar(**form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Calendar %(name)s created.", name=calendar.name(locale_code())), "success")
            return redirect(url_for("calendars.show", slug=calendar.slug))
    return render_template("calendars/form.html", form=form, calendar=None)


@bp.route("/calendars/<slug>/edit", methods=["GET", "POST"])
@editor_required
def edit(slug: str):
    """Edit a calendar's names, descriptions and rule."""
    calendar = _calendar_or_404(slug)
    form = CalendarForm(obj=calendar)
    if request.method == "GET":
        form.rule_kinds.data = calendar.kinds
        form.rule_visibilities.data = calendar.visibilities
        form.rule_tags.data = ", ".join(calendar.tags)
    if form.validate_on_submit():
        try:
            services.update_calendar(calendar, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Calendar %(name)s saved.", name=calendar.name(locale_code())), "success")
            return redirect(url_for("calendars.show", slug=calendar.slug))
    return render_template("calendars/form.html", form=form, calendar=calendar)


def _subscription_form() -> SubscriptionForm:
    form = SubscriptionForm()
    form.organisation_id.choices = [("", "—")] + [
        (o.id, o.name)
        for o in db.session.scalars(select(Organisation).order_by(Organisation.name)).all()
    ]
    form.contact_id.choices = [("", "—")] + [
        (c.id, c.name)
        for c in db.session.scalars(
            select(Contact).order_by(Contact.last_name, Contact.first_name)
        ).all()
    ]
    form.user_id.choices = [("", "—")] + [
        (u.id, u.display_name)
        for u in db.session.scalars(
            select(User).where(User.is_active_user.is_(True)).order_by(User.name, User.email)
        ).all()
    ]
    return form


def _add_event_form(calendar: Calendar) -> AddEventForm:
    form = AddEventForm()
    recent = utcnow() - dt.timedelta(days=90)
    events = db.session.scalars(
        select(Event)
        .where(Event.deleted_at.is_(None), Event.ends_at >= recent)
        .order_by(Event.starts_at)
        .limit(500)
    ).all()
    form.event_id.choices = [("", "—")] + [
        (e.id, f"{e.local_start:%Y-%m-%d} · {e.title}") for e in events
    ]
    return form


def _render_show(
    calendar: Calendar, *, sub_form=None, add_form=None, new_feed_url=None, status=200
):
    subscriptions = db.session.scalars(
        select(Subscription)
        .where(Subscription.calendar_id == calendar.id)
        .order_by(Subscription.revoked_at.is_not(None), Subscription.id)
        .options(
            selectinload(Subscription.organisation),
            selectinload(Subscription.contact),
            selectinload(Subscription.user),
        )
    ).all()
    by_hand = db.session.scalars(
        select(Event).where(Event.id.in_([e.id for e in calendar.events])).order_by(Event.starts_at)
    ).all()
    can_edit = current_user.can_edit
    return (
        render_template(
            "calendars/show.html",
            calendar=calendar,
            subscriptions=subscriptions,
            by_hand=by_hand,
            links=_feed_links(calendar) if calendar.is_public else None,
            sub_form=sub_form or (_subscription_form() if can_edit else None),
            add_form=add_form or (_add_event_form(calendar) if can_edit else None),
            new_feed_url=new_feed_url,
            new_feed_webcal=webcal(new_feed_url) if new_feed_url else None,
            lang=locale_code(),
        ),
        status,
    )


@bp.route("/calendars/<slug>")
@login_required
def show(slug: str):
    """A calendar: its addresses, how to subscribe, its subscriptions and hand-added events."""
    return _render_show(_calendar_or_404(slug))


@bp.route("/calendars/<slug>/subscriptions", methods=["POST"])
@editor_required
def subscribe(slug: str):
    """Make a subscription; its address is shown on this response only, never again."""
    calendar = _calendar_or_404(slug)
    form = _subscription_form()
    if form.validate_on_submit():
        try:
            _subscription, token = services.create_subscription(
                calendar,
                organisation_id=form.organisation_id.data,
                contact_id=form.contact_id.data,
                user_id=form.user_id.data,
                label=form.label.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            url = url_for("calendars.subscription_feed", token=token, _external=True)
            # Rendered, not redirected: the token must not travel in the session cookie.
            return _render_show(calendar, sub_form=_subscription_form(), new_feed_url=url)
    return _render_show(calendar, sub_form=form, status=422)


@bp.route("/calendars/<slug>/subscriptions/<int:subscription_id>/revoke", methods=["POST"])
@editor_required
def revoke(slug: str, subscription_id: int):
    """Revoke a subscription: its address stops working."""
    calendar = _calendar_or_404(slug)
    subscription = db.get_or_404(Subscription, subscription_id)
    if subscription.calendar_id != calendar.id:
        abort(404)
    services.revoke_subscription(subscription)
    db.session.commit()
    flash(_("Subscription revoked."), "success")
    return redirect(url_for("calendars.show", slug=slug))


@bp.route("/calendars/<slug>/events", methods=["POST"])
@editor_required
def add_event(slug: str):
    """Add an event to the calendar by hand."""
    calendar = _calendar_or_404(slug)
    form = _add_event_form(calendar)
    event = db.session.get(Event, form.event_id.data) if form.event_id.data else None
    if not form.validate_on_submit() or event is None:
        form.event_id.errors = [_("Choose an event from the list.")]
        return _render_show(calendar, add_form=form, status=422)
    services.add_event(calendar, event)
    db.session.commit()
    flash(_("%(title)s added to the calendar.", title=event.title), "success")
    return redirect(url_for("calendars.show", slug=slug))


@bp.route("/calendars/<slug>/events/<int:event_id>/remove", methods=["POST"])
@editor_required
def remove_event(slug: str, event_id: int):
    """Take a hand-added event out of the calendar."""
    calendar = _calendar_or_404(slug)
    event = db.get_or_404(Event, event_id)
    services.remove_event(calendar, event)
    db.session.commit()
    flash(_("%(title)s removed from the calendar.", title=event.title), "success")
    return redirect(url_for("calendars.show", slug=slug))


@bp.route("/calendars/<slug>/import", methods=["GET", "POST"])
@editor_required
def import_upload(slug: str):
    """Upload an .ics file and see what importing it would do."""
    calendar = _calendar_or_404(slug)
    form = ImportForm()
    if form.validate_on_submit():
        content = form.file.data.read(MAX_UPLOAD + 1)
        if len(content) > MAX_UPLOAD:
            form.file.errors.append(_("The file is larger than 10 MB."))
        else:
            try:
                preview = importer.preview_import(content)
            except ServiceError as error:
                db.session.rollback()
                apply_service_error(form, ServiceError(error.message, field="file"))
            else:
                # Keep the very bytes previewed, so that confirming imports exactly these.
                batch = ImportBatch(
                    calendar_id=calendar.id,
                    user_id=current_user.id,
                    filename=(form.file.data.filename or "")[:255],
                    content=content,
                )
                db.session.add(batch)
                db.session.commit()
                return render_template(
                    "calendars/import_preview.html",
                    calendar=calendar,
                    batch=batch,
                    preview=preview,
                    lang=locale_code(),
                )
    return render_template(
        "calendars/import.html", calendar=calendar, form=form, lang=locale_code()
    ), (422 if form.errors else 200)


@bp.route("/calendars/<slug>/import/<int:batch_id>", methods=["POST"])
@editor_required
def import_confirm(slug: str, batch_id: int):
    """Import the previewed file in one transaction."""
    calendar = _calendar_or_404(slug)
    batch = db.get_or_404(ImportBatch, batch_id)
    if batch.calendar_id != calendar.id:
        abort(404)
    if batch.imported_at is not None:
        flash(_("This file has already been imported."), "warning")
        return redirect(url_for("calendars.show", slug=slug))
    try:
        result = importer.import_events(calendar, batch.content)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("calendars.import_upload", slug=slug))
    batch.imported_at = utcnow()
    db.session.commit()
    flash(
        _(
            "Imported: %(new)s new, %(changed)s changed, %(unchanged)s unchanged, "
            "%(errors)s not imported.",
            new=result.count("new"),
            changed=result.count("changed"),
            unchanged=result.count("unchanged"),
            errors=result.count("error"),
        ),
        "success",
    )
    return redirect(url_for("calendars.show", slug=slug))
