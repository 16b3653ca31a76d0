"""The form macros: an error summary that reaches every field, radios grouped in a fieldset."""

import re

import flask_babel
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FormField, RadioField, SelectChoice, StringField
from wtforms.validators import DataRequired

from crm.forms import SubForm


class Row(SubForm):
    what = StringField("What", validators=[DataRequired()])


class VisitForm(SubForm):
    title = StringField("Title", validators=[DataRequired()])
    fmt = RadioField("Format", choices=[SelectChoice("json", "JSON"), SelectChoice("csv", "CSV")])
    rows = FieldList(FormField(Row), label="Programme", min_entries=2)


def render(app, source: str, **values) -> str:
    """Render a template string that imports the form macros, in English."""
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        flask_babel.refresh()
        template = app.jinja_env.from_string(
            '{% from "macros/forms.html" import error_summary, field %}' + source
        )
        return template.render(**values)


def test_error_summary_links_every_error_including_rows(app):
    form = VisitForm(formdata=MultiDict({"rows-0-what": "Lunch", "fmt": "xml"}))
    assert not form.validate()
    form.form_errors.append("Someone else saved it first.")
    html = render(app, "{{ error_summary(form) }}", form=form)
    assert 'id="error-summary"' in html and 'role="alert"' in html and 'tabindex="-1"' in html
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', html)
    assert [href for href, _text in links] == ["title", "fmt-0", "rows-1-what"]
    assert links[2][1].startswith("Programme 2, What: ")
    assert "<li>Someone else saved it first.</li>" in html


def test_no_summary_without_errors(app):
    form = VisitForm(formdata=MultiDict({"title": "Visit", "rows-0-what": "x", "rows-1-what": "y"}))
    form.fmt.data = "json"
    assert form.validate()
    assert "error-summary" not in render(app, "{{ error_summary(form) }}", form=form)


def test_field_ties_errors_and_help_to_the_control(app):
    form = VisitForm(formdata=MultiDict({}))
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        flask_babel.refresh()  # messages are translated when validating: in English here
        form.validate()
    html = render(app, "{{ field(form.title, help='Shown on the calendar.') }}", form=form)
    control = re.search(r"<input[^>]*>", html).group(0)
    assert 'aria-describedby="title-help title-error"' in control
    assert 'aria-invalid="true"' in control
    assert 'id="title-error"' in html and "This field is required." in html


def test_radio_field_is_a_fieldset_with_a_legend(app):
    form = VisitForm(formdata=MultiDict({"fmt": "xml"}))
    form.validate()
    html = render(app, "{{ field(form.fmt) }}", form=form)
    assert re.search(r'<fieldset[^>]*aria-describedby="fmt-error"', html)
    assert "<legend" in html and "Format" in html
    assert html.count('type="radio"') == 2
    assert '<label class="form-check-label" for="fmt-0">JSON</label>' in html
    assert 'id="fmt-error"' in html
