"""JSON error responses."""

from flask import jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An error the API answers with a JSON body; `fields` maps field names to messages."""

    def __init__(
        self, status: int, message: str, *, fields: dict | None = None, headers: dict | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers or {}


def json_error(status: int, message: str, **extra):
    """A JSON error body `{"error": {"status": ..., "message": ...}}` with the status code."""
    body = {"error": {"status": status, "message": str(message), **extra}}
    return jsonify(body), status


def api_error_response(error: ApiError):
    """The response for an ApiError, with its fields and headers."""
    extra = {"fields": error.fields} if error.fields else {}
    response, status = json_error(error.status, error.message, **extra)
    response.headers.update(error.headers)
    return response, status


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Log in or send a valid API token."),
        403: _("You do not have permission to do this."),
        404: _("There is no such record or address."),
        405: _("This address does not accept this method."),
        500: _("Something went wrong on our side. Nothing was saved."),
    }


def http_error_response(error: Exception):
    """A JSON body for an HTTP error raised under /api/ (routing 404/405, abort(), 500)."""
    status = getattr(error, "code", None) or 500
    message = _messages().get(status) or getattr(error, "description", None) or str(error)
    response, status = json_error(status, message)
    if isinstance(error, HTTPException):
        # keeps e.g. the Allow header of a 405
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
    return response, status
