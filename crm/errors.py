"""Errors a service may raise; their message is safe to show to a user."""


class ServiceError(Exception):
    """A rule was broken; the message says which, in the user's language."""

    status_code = 422

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(ServiceError):
    """A referenced record does not exist."""

    status_code = 404


class ConflictError(ServiceError):
    """Someone else changed the record since it was read (optimistic locking)."""

    status_code = 409
