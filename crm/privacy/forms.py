"""Forms for consent, restriction, export and erasure."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from crm.privacy.models import LegalBasis, Purpose


class ConsentForm(FlaskForm):
    purpose = SelectField(_l("Purpose"), choices=Purpose.choices)
    legal_basis = SelectField(_l("Legal basis"), choices=LegalBasis.choices, default="consent")
    source = StringField(
        _l("Source"),
        validators=[DataRequired(), Length(max=200)],
        description=_l('How it was given, e.g. "registration form 2026-05-03" or "by phone".'),
    )


class WithdrawForm(FlaskForm):
    purpose = HiddenField()
    source = StringField(_l("How it was withdrawn"), validators=[Length(max=200)])


class RestrictForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("For example: the person contests the accuracy of the data."),
    )


class ExportForm(FlaskForm):
    fmt = RadioField(
        _l("Format"), choices=lambda: [("json", "JSON"), ("csv", "CSV")], default="json"
    )
    for_data_subject = BooleanField(_l("The export is for the person themselves (access request)"))


class EraseForm(FlaskForm):
    reason = StringField(
        _l("Reason"),
        validators=[Length(max=500)],
        description=_l("For example: erasure request received 2026-05-03."),
    )
    confirm = BooleanField(
        _l("I understand that the name, contact details and notes are removed for good"),
        validators=[DataRequired(_l("Tick the box to confirm."))],
    )
