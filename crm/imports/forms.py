"""Forms of the CSV import and the merge screen."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField

from crm.forms import VersionField


class UploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"),
        choices=lambda: [("contacts", _l("Contacts")), ("organisations", _l("Organisations"))],
    )
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(_l("Choose a file."))],
        description=_l(
            'Saved from Excel as "CSV UTF-8", or from LibreOffice or Google Sheets; '
            "columns separated by ; or ,. The first row names the columns."
        ),
    )
    skip_duplicates = BooleanField(
        _l(
            "Skip rows that match an existing record "
            "(same email, or similar name in the same organisation)"
        ),
        default=True,
    )


class MergeForm(FlaskForm):
    """The versions seen; the per-field radio buttons are read from the request by the view."""

    kept_version = VersionField()
    other_version = VersionField()
