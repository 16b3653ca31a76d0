"""Optimistic locking: refuse a save based on an outdated copy of a record."""

from flask_babel import gettext as _

from crm.errors import ConflictError


def check_version(record, seen_version: int | None, *, deleting: bool = False) -> None:
    """Raise ConflictError if the record changed since the user loaded version `seen_version`.

    `deleting`: the user asked to delete it, and is told so (they edited nothing).
    """
    if seen_version is None:
        return
    if record.version != seen_version:
        raise ConflictError(not_deleted_message() if deleting else conflict_message())


def conflict_message() -> str:
    """What a user is told when someone else saved the record first."""
    return _(
        "Someone else changed this record while you were editing it. Your changes "
        "were not saved: reload the page to see the current version, then make "
        "your changes again."
    )


def not_deleted_message() -> str:
    """What a user is told when the record they asked to delete changed since they saw it."""
    return _(
        "Someone else changed this record after you opened it, so it was not deleted: "
        "reload the page to see the current version, then decide again."
    )
