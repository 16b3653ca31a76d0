"""Forms for logging in and managing staff users."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from crm.auth.services import MIN_PASSWORD_LENGTH
from crm.enums import Language, Role
from crm.forms import stripped


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=254)], filters=[stripped]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Remember me"))


class UserForm(FlaskForm):
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Email(), Length(max=254)], filters=[stripped]
    )
    name = StringField(_l("Name"), validators=[Optional(), Length(max=120)])
    role = SelectField(_l("Role"), choices=Role.choices, default=Role.VIEWER.value)
    is_active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least 12 characters. Leave empty to keep the current password."),
    )


class NewUserForm(UserForm):
    """A new user needs a password; the editing form's "leave empty" does not apply."""

    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(message=_l("Enter a password for the new user.")),
            Length(min=MIN_PASSWORD_LENGTH, max=200),
        ],
        description=_l("At least 12 characters."),
    )


class LanguageForm(FlaskForm):
    locale = SelectField(
        _l("Language"),
        choices=lambda: [("", _l("As my browser")), *Language.choices()],
        default="",
        validate_choice=False,  # the service names the field when the value is unknown
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)],
        description=_l("At least 12 characters. Your other sessions end when you change it."),
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(),
            EqualTo("new_password", message=_l("The two new passwords differ.")),
        ],
    )
