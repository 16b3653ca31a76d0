"""Reminder pages: rules and outbox (admins), my reminders, contact opt-in, unsubscribe."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from crm.auth.access import admin_required, editor_required, require_login
from crm.auth.views import safe_next
from crm.contacts.models import Contact
from crm.errors import ServiceError
from crm.extensions import csrf, db
from crm.forms import apply_service_error
from crm.pagination import paginate
from crm.reminders import bp, services
from crm.reminders.forms import RuleForm
from crm.reminders.models import OutboxMessage, OutboxStatus, ReminderRule, RuleKind

PUBLIC_ENDPOINTS = {"reminders.unsubscribe"}


@bp.before_request
def _login_unless_public():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    return require_login()


@bp.app_template_global("reminder_subscription_for")
def _reminder_subscription_for(contact):
    return services.subscription_for(contact.id) if contact is not None else None


@bp.route("/rules")
@admin_required
def rules():
    """The reminder rules."""
    return render_template("reminders/rules.html", rules=services.list_rules())


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_rule(rule_id: int):
    """Change a rule's timing or switch it off."""
    rule = db.get_or_404(ReminderRule, rule_id)
    form = RuleForm(obj=rule)
    if request.method == "GET" and rule.send_time:
        form.send_time.data = rule.send_time.strftime("%H:%M")
    if form.validate_on_submit():
        try:
            services.update_rule(
                rule,
                offset_hours=_blank_as_text(form.offset_hours.data)
                if rule.kind.is_event_rule
                else None,
                send_time=form.send_time.data if rule.kind == RuleKind.FOLLOWUP_DIGEST else None,
                is_active=form.is_active.data,
            )
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            flash(_("Reminder rule saved."), "success")
            return redirect(url_for("reminders.rules"))
    return render_template("reminders/rule_form.html", form=form, rule=rule)


def _blank_as_text(value):
    """An empty number field reaches the service as "" so that it says what is missing."""
    return "" if value is None else value


@bp.route("/mine", methods=["GET", "POST"])
def mine():
    """My reminders: which of the staff rules I get."""
    user = current_user._get_current_object()
    if request.method == "POST":
        services.set_preferences(user, enabled_rule_ids=request.form.getlist("rule", type=int))
        db.session.commit()
        flash(_("Your reminder choices were saved."), "success")
        return redirect(url_for("reminders.mine"))
    return render_template("reminders/mine.html", preferences=services.staff_preferences(user))


@bp.route("/outbox")
@admin_required
def outbox():
    """Every mail: failures first, with their errors and a retry button."""
    status = request.args.get("status", "")
    if status not in {s.value for s in OutboxStatus}:
        status = ""
    page = paginate(services.outbox_query(status=status))
    return render_template(
        "reminders/outbox.html",
        page=page,
        status=status,
        statuses=OutboxStatus.choices(),
        counts=services.outbox_counts(),
    )


@bp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@admin_required
def retry(message_id: int):
    """Queue a failed mail again."""
    row = db.get_or_404(OutboxMessage, message_id)
    try:
        services.retry_message(row)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(_("The mail to %(email)s is queued again.", email=row.recipient_email), "success")
    return redirect(url_for("reminders.outbox", status=request.args.get("status", "")))


@bp.route("/contacts/<int:contact_id>/subscription", methods=["POST"])
@editor_required
def contact_subscription(contact_id: int):
    """Record a contact's opt-in to event reminders, or its withdrawal."""
    contact = db.get_or_404(Contact, contact_id)
    try:
        if request.form.get("action") == "opt_in":
            services.opt_in(contact, source=f"staff:{current_user.id}")
            message = _("%(name)s will get event reminders.", name=contact.name)
        else:
            services.unsubscribe(contact.id)
            message = _("%(name)s will get no event reminders.", name=contact.name)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "danger")
    else:
        db.session.commit()
        flash(message, "success")
    default = url_for("contacts.show", contact_id=contact.id)
    return redirect(safe_next(request.form.get("next")) or default)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail clients POST without our CSRF token
def unsubscribe(token: str):
    """Unsubscribe page (GET asks to confirm; POST, also one-click from mail clients, does it)."""
    try:
        contact_id = services.contact_id_from_token(token)
    except ServiceError as error:
        return render_template("reminders/unsubscribe.html", error=error.message), 404
    contact = db.session.get(Contact, contact_id)
    if contact is None:
        return render_template(
            "reminders/unsubscribe.html", error=_("This unsubscribe link is not valid.")
        ), 404
    done = request.method == "POST"
    if done:
        services.unsubscribe(contact.id)
        db.session.commit()
    # The page speaks the language the contact's mails were written in.
    with force_locale(getattr(contact.preferred_language, "value", None) or "en"):
        return render_template("reminders/unsubscribe.html", done=done, contact=contact)
