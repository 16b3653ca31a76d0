"""Forms for follow-ups and interactions."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from crm.followups.models import FollowUpStatus, InteractionKind
from crm.forms import VersionField


def assignee_choices(current=None) -> list[tuple[int, str]]:
    """Active staff users as (id, name) pairs, "nobody" first.

    `current`, a follow-up's assignee, is offered even when deactivated (marked so), so that
    saving the follow-up keeps them rather than silently choosing nobody.
    """
    from crm.auth.models import User
    from crm.extensions import db

    users = db.session.scalars(
        select(User).where(User.is_active_user.is_(True)).order_by(User.name, User.email)
    )
    choices = [(0, "—"), *((u.id, u.display_name) for u in users)]
    if current is not None and not current.is_active_user:
        choices.insert(1, (current.id, _("%(name)s (inactive)", name=current.display_name)))
    return choices


def _int_or_zero(value) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return -1


class FollowUpForm(FlaskForm):
    title = StringField(_l("What needs doing"), validators=[DataRequired(), Length(max=300)])
    due_on = DateField(_l("Due date"), validators=[Optional()])
    assignee_id = SelectField(
        _l("Assignee"), choices=assignee_choices, coerce=_int_or_zero, validate_choice=False
    )
    outcome = TextAreaField(_l("Outcome note"), validators=[Optional(), Length(max=10000)])
    event_id = HiddenField(_l("Event"))  # labelled: an error names it in the summary
    contact_id = HiddenField(_l("Contact"))
    organisation_id = HiddenField(_l("Organisation"))
    version = VersionField()


class FollowUpEditForm(FollowUpForm):
    status = SelectField(_l("Status"), choices=FollowUpStatus.choices)


class ParticipantsFollowUpForm(FlaskForm):
    title = StringField(
        _l("What needs doing"),
        validators=[DataRequired(), Length(max=300)],
        description=_l("For example: send a thank-you letter. One follow-up per participant."),
    )
    due_on = DateField(_l("Due date"), validators=[Optional()])
    assignee_id = SelectField(
        _l("Assignee"), choices=assignee_choices, coerce=_int_or_zero, validate_choice=False
    )
    participation_ids = SelectMultipleField(
        _l("Participants"),
        coerce=int,
        validate_choice=False,  # the service checks the ids belong to the event
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class InteractionForm(FlaskForm):
    kind = SelectField(_l("What happened"), choices=InteractionKind.choices)
    occurred_on = DateField(_l("Date"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=10000)])
    contact_id = HiddenField(_l("Contact"))
    organisation_id = HiddenField(_l("Organisation"))
    next = HiddenField()
