"""Protocol pages: programme and conflicts, follow-up proposals, agreements, gifts."""

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

from crm.auth.access import editor_required, require_login
from crm.errors import ServiceError
from crm.events.models import Event, Participation, ProgrammeItem
from crm.extensions import db
from crm.forms import apply_service_error
from crm.pagination import paginate
from crm.protocol import bp, services
from crm.protocol.forms import AgreementForm, GiftForm, ItemDetailForm
from crm.protocol.models import Agreement, AgreementState, Gift, GiftDirection
from crm.timeutil import FIRST_DAY, LAST_DAY

bp.before_request(require_login)


@bp.app_template_global()
def protocol_conflicts(event) -> list[str]:
    """The event's programme conflicts as sentences (for the event page)."""
    return services.conflict_warnings(event)


@bp.app_template_global()
def protocol_followup_candidates(event) -> list:
    """Partner participants of a done event still without proposed follow-ups."""
    return services.followup_candidates(event)


@bp.app_template_global()
def organisation_agreements(org) -> list[Agreement]:
    """The agreements an organisation is a party to (for its page)."""
    return services.agreements_for_organisation(org)


@bp.app_template_global()
def protocol_today() -> dt.date:
    """Today in the office's zone (for agreement states)."""
    return dt.datetime.now(ZoneInfo(current_app.config["OFFICE_TIMEZONE"])).date()


def _get_event(event_id: int) -> Event:
    event = db.get_or_404(
        Event,
        event_id,
        options=[
            selectinload(Event.programme).selectinload(ProgrammeItem.detail),
            selectinload(Event.participations).selectinload(Participation.organisation),
            selectinload(Event.participations).selectinload(Participation.contact),
        ],
    )
    if event.deleted_at is not None:
        abort(404)
    return event


# --- programme ------------------------------------------------------------------------------


@bp.route("/events/<int:event_id>/programme")
def programme(event_id: int):
    """An event's programme with every item's details and the conflicts found."""
    event = _get_event(event_id)
    return render_template(
        "protocol/programme.html", event=event, warnings=services.conflict_warnings(event)
    )


@bp.route("/events/<int:event_id>/programme/<int:item_id>", methods=["GET", "POST"])
@editor_required
def item_detail(event_id: int, item_id: int):
    """Edit a programme item's address, hosts, interpreter, transport, notes and sharing."""
    event = _get_event(event_id)
    item = next((i for i in event.programme if i.id == item_id), None)
    if item is None:
        abort(404)
    form = ItemDetailForm(obj=item.detail)
    if request.method == "GET":
        form.seen.data = services.detail_fingerprint(item)
        if item.detail is not None:
            form.shared_with_organisation_id.data = str(
                item.detail.shared_with_organisation_id or ""
            )
    if form.validate_on_submit():
        try:
            services.update_item_detail(item, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Programme item %(title)s saved.", title=item.title), "success")
            return redirect(url_for("protocol.programme", event_id=event.id))
    return render_template("protocol/item_form.html", form=form, event=event, item=item)


@bp.route("/events/<int:event_id>/followups/proposed", methods=["POST"])
@editor_required
def create_followups(event_id: int):
    """Create the proposed follow-ups of a done event (once per participant)."""
    event = _get_event(event_id)
    try:
        created = services.create_proposed_followups(event, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        if created:
            flash(_("%(count)d follow-ups created.", count=len(created)), "success")
        else:
            flash(_("The follow-ups were already created."), "info")
    return redirect(url_for("events.show", event_id=event_id))


# --- agreements -----------------------------------------------------------------------------


@bp.route("/agreements/")
def agreements():
    """All agreements, filtered by state and title."""
    stmt = services.agreement_query(
        q=request.args.get("q", ""), state=request.args.get("state", ""), today=protocol_today()
    )
    page = paginate(stmt)
    return render_template(
        "protocol/agreements.html",
        page=page,
        states=AgreementState.choices(),
    )


@bp.route("/agreements/<int:agreement_id>")
def agreement_show(agreement_id: int):
    """One agreement with its parties, dates, goals, results and documents."""
    agreement = db.get_or_404(Agreement, agreement_id)
    return render_template("protocol/agreement.html", agreement=agreement)


def _agreement_form_page(form, agreement):
    return render_template("protocol/agreement_form.html", form=form, agreement=agreement)


@bp.route("/agreements/new", methods=["GET", "POST"])
@editor_required
def agreement_new():
    """Create an agreement."""
    form = AgreementForm()
    if request.method == "GET" and request.args.get("organisation_id"):
        form.party_ids.data = [request.args["organisation_id"]]
    if form.validate_on_submit():
        try:
            agreement = services.create_agreement(**form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Agreement %(title)s created.", title=agreement.title), "success")
            return redirect(url_for("protocol.agreement_show", agreement_id=agreement.id))
    return _agreement_form_page(form, None)


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@editor_required
def agreement_edit(agreement_id: int):
    """Edit an agreement; refused if someone else saved it meanwhile."""
    agreement = db.get_or_404(Agreement, agreement_id)
    form = AgreementForm(obj=agreement)
    if request.method == "GET":
        form.party_ids.data = [str(o.id) for o in agreement.parties]
        form.category.data = agreement.category.value if agreement.category else ""
        form.responsible_id.data = str(agreement.responsible_id or "")
    if form.validate_on_submit():
        try:
            services.update_agreement(agreement, version=form.version.data, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Agreement %(title)s saved.", title=agreement.title), "success")
            return redirect(url_for("protocol.agreement_show", agreement_id=agreement.id))
    return _agreement_form_page(form, agreement)


@bp.route("/agreements/<int:agreement_id>/delete", methods=["POST"])
@editor_required
def agreement_delete(agreement_id: int):
    """Delete an agreement."""
    agreement = db.get_or_404(Agreement, agreement_id)
    try:
        services.delete_agreement(agreement, version=request.form.get("version", type=int))
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
        return redirect(url_for("protocol.agreement_show", agreement_id=agreement_id))
    db.session.commit()
    flash(_("Agreement deleted."), "success")
    return redirect(url_for("protocol.agreements"))


# --- gifts ----------------------------------------------------------------------------------


def _gift_filters() -> dict:
    year = request.args.get("year", type=int)
    return {
        "year": year if year and FIRST_DAY.year <= year <= LAST_DAY.year else None,
        "direction": request.args.get("direction", ""),
        "q": request.args.get("q", ""),
        "event_id": request.args.get("event_id", type=int),
    }


@bp.route("/gifts/")
def gifts():
    """The gift register, filtered by year, direction and text."""
    stmt = services.gift_query(**_gift_filters())
    page = paginate(stmt)
    return render_template(
        "protocol/gifts.html",
        page=page,
        directions=GiftDirection.choices(),
    )


@bp.route("/gifts/export.csv")
def gifts_export():
    """The filtered gift register as a spreadsheet-safe CSV file."""
    gifts_ = db.session.scalars(services.gift_query(**_gift_filters())).all()
    return Response(
        services.gifts_csv(gifts_),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="gifts.csv"'},
    )


@bp.route("/gifts/new", methods=["GET", "POST"])
@editor_required
def gift_new():
    """Register a gift (`?event_id=` preselects the event)."""
    form = GiftForm()
    if request.method == "GET":
        form.event_id.data = request.args.get("event_id", "")
        form.given_on.data = dt.date.today()
    if form.validate_on_submit():
        try:
            gift = services.create_gift(**form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Gift %(what)s registered.", what=gift.description), "success")
            return redirect(url_for("protocol.gifts"))
    return render_template("protocol/gift_form.html", form=form, gift=None)


@bp.route("/gifts/<int:gift_id>/edit", methods=["GET", "POST"])
@editor_required
def gift_edit(gift_id: int):
    """Edit a gift; refused if someone else saved it meanwhile."""
    gift = db.get_or_404(Gift, gift_id)
    form = GiftForm(obj=gift)
    if request.method == "GET":
        form.direction.data = gift.direction.value
        form.value.data = services.format_nok(gift.value_ore).replace(".", ",")
        for name in ("organisation_id", "contact_id", "event_id"):
            getattr(form, name).data = str(getattr(gift, name) or "")
    if form.validate_on_submit():
        try:
            services.update_gift(gift, version=form.version.data, **form.service_data())
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Gift %(what)s saved.", what=gift.description), "success")
            return redirect(url_for("protocol.gifts"))
    return render_template("protocol/gift_form.html", form=form, gift=gift)


# --- briefing and printable programme ----------------------------------------------------------


@bp.route("/events/<int:event_id>/briefing")
def briefing(event_id: int):
    """A printable briefing on a visit: who is coming, the programme, open follow-ups."""
    event = _get_event(event_id)
    return render_template(
        "protocol/briefing.html",
        event=event,
        warnings=services.conflict_warnings(event),
        **services.briefing(event),
    )


def _print_language() -> str:
    languages = current_app.config["LANGUAGES"]
    lang = request.args.get("lang", "")
    return lang if lang in languages else str(get_locale())


def _render_programme(event: Event, lang: str, *, for_pdf: bool) -> str:
    with force_locale(lang):
        return render_template(
            "protocol/programme_print.html", event=event, doc_lang=lang, for_pdf=for_pdf
        )


@bp.route("/events/<int:event_id>/programme/print")
def programme_print(event_id: int):
    """The programme as a printable page for the delegation and the hosts (`?lang=nb|en`)."""
    event = _get_event(event_id)
    return _render_programme(event, _print_language(), for_pdf=False)


@bp.route("/events/<int:event_id>/programme.pdf")
def programme_pdf(event_id: int):
    """The printable programme as a PDF (`?lang=nb|en`)."""
    event = _get_event(event_id)
    lang = _print_language()
    pdf = services.programme_pdf(_render_programme(event, lang, for_pdf=True))
    filename = f"programme-{event.id}-{lang}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
