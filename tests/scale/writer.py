"""A writer process for the concurrency and backup tests: creates organisations through the service.

Run as `python -m tests.scale.writer URL NAME START SECONDS [STOP_FILE]`; stops after
SECONDS or as soon as STOP_FILE exists, and prints one JSON line with how many
organisations it created and the database errors it saw.
"""

import json
import sys
import time
from pathlib import Path

from sqlalchemy.exc import OperationalError

from config import TestConfig
from crm import create_app
from crm.extensions import db
from crm.organisations.services import create_organisation


def main(url: str, name: str, start_at: float, seconds: float, stop_file: str = "") -> None:
    """Create organisations in a loop from `start_at` for `seconds`, one transaction each."""
    app = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    created, errors = 0, []
    with app.app_context():
        time.sleep(max(0.0, start_at - time.time()))
        end = time.time() + seconds
        while time.time() < end and not (stop_file and Path(stop_file).exists()):
            try:
                # Read, then write, in one transaction: the pattern that a DEFERRED
                # transaction turns into "database is locked".
                create_organisation(
                    name=f"{name} {created}", kind="ngo", tags=["load", f"writer-{name}"]
                )
                db.session.commit()
                created += 1
            except OperationalError as error:
                db.session.rollback()
                errors.append(str(error.orig))
    print(json.dumps({"name": name, "created": created, "errors": errors[:5]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), *sys.argv[5:])
