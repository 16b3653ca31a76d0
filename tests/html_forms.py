"""What a browser would send from a form on a page, for tests that submit pages as they are."""

from html.parser import HTMLParser


class FormFields(HTMLParser):
    """The named fields' values of the form posting to `action` (None: the form without one).

    Checkboxes and radio buttons count only when checked, as a browser sends them; `options`
    holds each select's option values.
    """

    def __init__(self, action: str | None):
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.fields, self.options = action, False, {}, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("action") == self.action
        elif self.inside and tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields[attrs["name"]] = attrs.get("value", "")
        elif self.inside and tag == "select":
            self._select = attrs["name"]
            self.options[self._select] = []
        elif self.inside and tag == "option" and self._select:
            self.options[self._select].append(attrs["value"])
            if "selected" in attrs or self._select not in self.fields:
                self.fields[self._select] = attrs["value"]
        elif self.inside and tag == "textarea":
            self._textarea = attrs["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:  # a browser drops its first newline
            value = self.fields[self._textarea]
            self.fields[self._textarea] = (
                value[2:]
                if value.startswith("\r\n")
                else (value[1:] if value.startswith("\n") else value)
            )
            self._textarea = None


def form_fields(html: str, action: str | None = None) -> FormFields:
    """The form posting to `action` on this page, as a browser would send it."""
    parsed = FormFields(action)
    parsed.feed(html)
    return parsed
