"""Forms for reminder rules and a staff member's reminder choices."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import NumberRange, Optional


class RuleForm(FlaskForm):
    offset_hours = IntegerField(
        _l("Hours before the event"),
        validators=[Optional(), NumberRange(min=0, max=24 * 60)],
        description=_l("Real hours: 48 is two days."),
    )
    send_time = StringField(
        _l("Time of day (office time zone)"),
        validators=[Optional()],
        description=_l("For example 07:00."),
    )
    is_active = BooleanField(_l("Active"))
