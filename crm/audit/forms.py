"""The audit trail's filter form (a GET form: no CSRF token)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional, ValidationError

from crm.forms import DateInBounds


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False

    user = SelectField(_l("User"), choices=[], validate_choice=False, default="")
    object_type = SelectField(_l("Record type"), choices=[], validate_choice=False, default="")
    action = SelectField(_l("Action"), choices=[], validate_choice=False, default="")
    date_from = DateField(_l("From"), validators=[Optional(), DateInBounds()])
    date_to = DateField(_l("To"), validators=[Optional(), DateInBounds()])

    def validate_date_to(self, field):
        """The end date may not come before the start date."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date must be on or after the start date."))
