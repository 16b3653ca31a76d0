"""JSON error responses."""

from flask import jsonify


def json_error(status: int, message: str, **extra):
    """A JSON error body `{"error": {"status": ..., "message": ...}}` with the status code."""
    body = {"error": {"status": status, "message": str(message), **extra}}
    return jsonify(body), status
