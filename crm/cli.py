"""The `flask --app wsgi crm ...` commands."""

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from crm.auth import services as auth_services
from crm.auth.models import User
from crm.enums import Role
from crm.errors import ServiceError
from crm.extensions import db

crm_cli = AppGroup("crm", help="Vertskap administration commands.")

DEMO_EMAIL = "admin@vertskap.example"
DEMO_PASSWORD = "vertskap-demo-2026"  # noqa: S105 (the printed demo login)


@crm_cli.command("create-user")
@click.option("--email", required=True, help="Login email.")
@click.option("--password", required=True, help="At least 12 characters.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.VIEWER.value)
@click.option("--name", default="", help="Display name.")
def create_user(email: str, password: str, role: str, name: str) -> None:
    """Create a staff user."""
    try:
        user = auth_services.create_user(email=email, password=password, role=role, name=name)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}")


@crm_cli.command("create-token")
@click.option("--email", required=True, help="The staff user who owns the token.")
@click.option("--name", default="cli", help="What the token is for.")
def create_token(email: str, name: str) -> None:
    """Create a personal API token and print it (it is stored hashed and shown only once)."""
    user = auth_services.get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user with email {email}")
    token = auth_services.create_api_token(user, name=name)
    db.session.commit()
    click.echo(token)


@crm_cli.command("seed-demo")
@click.option("--force", is_flag=True, help="Load even if the database already has users.")
def seed_demo(force: bool) -> None:
    """Load the bilingual demo data set (partners, consulates, twin cities, events)."""
    from crm.demo import load_demo

    if not force and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("The database already has data; use --force to add the demo set anyway.")
        return
    load_demo(admin_email=DEMO_EMAIL, admin_password=DEMO_PASSWORD)
    db.session.commit()
    click.echo("Demo data loaded.")


@crm_cli.command("first-run")
def first_run() -> None:
    """Load the demo data if the database is empty, and print a login (used by `make run`)."""
    from crm.demo import load_demo

    if not db.session.scalar(select(func.count()).select_from(User)):
        load_demo(admin_email=DEMO_EMAIL, admin_password=DEMO_PASSWORD)
        db.session.commit()
        click.echo("Loaded the demo data.")
    if auth_services.get_user_by_email(DEMO_EMAIL):
        click.echo(f"Log in as {DEMO_EMAIL} with password {DEMO_PASSWORD}")
    else:
        click.echo(
            "Log in with your own account (create one with `flask --app wsgi crm create-user`)."
        )


@crm_cli.command("bench-data")
@click.option("--organisations", type=click.IntRange(min=0), default=2000, show_default=True)
@click.option("--contacts", type=click.IntRange(min=0), default=100_000, show_default=True)
@click.option("--events", type=click.IntRange(min=0), default=20_000, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option(
    "--anchor",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Events span four years before this date and one after (default: today).",
)
def bench_data(organisations: int, contacts: int, events: int, seed: int, anchor) -> None:
    """Add a realistic, deterministic data set for benchmarks (bulk inserts)."""
    from crm.bench_data import generate

    total = organisations + contacts + events
    try:
        with click.progressbar(length=total, label="Generating") as bar:
            counts = generate(
                organisations=organisations,
                contacts=contacts,
                events=events,
                seed=seed,
                anchor=anchor.date() if anchor else None,
                progress=bar.update,
            )
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(
        f"Added {counts.organisations} organisations, {counts.contacts} contacts "
        f"({counts.memberships} memberships), {counts.events} events "
        f"({counts.programme_items} programme items, {counts.participations} participations)."
    )


@crm_cli.command("backup")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Backup file (default: instance/backups/vertskap-<UTC time>.db or .dump).",
)
def backup(output: Path | None) -> None:
    """Back up the database while the app runs (SQLite backup API, or pg_dump)."""
    from flask import current_app

    from crm.backup import backup_database, default_backup_path

    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    output = output or default_backup_path(url, Path(current_app.instance_path) / "backups")
    try:
        path = backup_database(url, output)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Backup written to {path}")


@crm_cli.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(backup_file: Path, yes: bool) -> None:
    """Replace the database with a backup (stop the web servers and the scheduler first)."""
    from flask import current_app

    from crm.backup import restore_database

    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not yes:
        click.confirm("This replaces every record in the database. Continue?", abort=True)
    db.session.remove()
    db.engine.dispose()  # no pooled connection of ours holds the database meanwhile
    try:
        restore_database(url, backup_file)
    except ServiceError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Restored {backup_file}")


@crm_cli.command("send-due")
def send_due() -> None:
    """Plan reminders and send the mail that is due, once (for cron and tests)."""
    from crm.db import utcnow
    from crm.reminders.jobs import send_due as run_send_due

    planned, sent = run_send_due(now=utcnow())
    click.echo(
        f"Planned {planned.created} new, {planned.updated} changed, "
        f"{planned.cancelled} cancelled; sent {sent.sent}, retrying {sent.retried}, "
        f"failed {sent.failed}, skipped {sent.skipped}."
    )


@crm_cli.command("scheduler")
def scheduler() -> None:
    """Run the reminder scheduler in this process (plan + dispatch every minute, daily digest)."""
    from flask import current_app

    from crm.reminders.scheduler import run_scheduler

    click.echo("Reminder scheduler running (Ctrl-C stops it).")
    run_scheduler(current_app._get_current_object())


@crm_cli.command("import-ics")
@click.argument("ics_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--calendar", "slug", required=True, help="The calendar's slug, e.g. public.")
@click.option("--dry-run", is_flag=True, help="Only show what would be imported.")
def import_ics(ics_file: str, slug: str, dry_run: bool) -> None:
    """Import an .ics file into a calendar: upsert by UID in one transaction; events that
    cannot be used are listed with their reason and left out."""
    from pathlib import Path

    from crm.calendars import importer
    from crm.calendars.services import get_calendar

    calendar = get_calendar(slug)
    if calendar is None:
        raise click.ClickException(f"No calendar with slug {slug}")
    content = Path(ics_file).read_bytes()
    try:
        preview = importer.preview_import(content)
        if dry_run:
            result = preview
        else:
            with click.progressbar(length=len(preview.items), label="Importing") as bar:
                result = importer.import_events(
                    calendar, content, progress=lambda item: bar.update(1)
                )
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    for item in result.items:
        if item.action == "error":
            click.echo(f"  {item.error}", err=True)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo(
        f"{'Would import' if dry_run else 'Imported'}: {result.count('new')} new, "
        f"{result.count('changed')} changed, {result.count('unchanged')} unchanged, "
        f"{result.count('error')} with errors."
    )


@crm_cli.command("import-csv")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["contacts", "organisations"]), required=True)
@click.option("--keep-duplicates", is_flag=True, help="Import rows that match existing records.")
@click.option("--dry-run", is_flag=True, help="Only check the file and show what would happen.")
def import_csv(csv_file: str, kind: str, keep_duplicates: bool, dry_run: bool) -> None:
    """Import organisations or contacts from a CSV file (columns guessed; all or nothing)."""
    content = Path(csv_file).read_bytes()
    _import_csv(content, kind, skip_duplicates=not keep_duplicates, dry_run=dry_run)


def _import_csv(content: bytes, kind: str, *, skip_duplicates: bool, dry_run: bool) -> None:
    from crm.audit.services import acting_as
    from crm.imports import csvfile
    from crm.imports import services as import_services

    try:
        with acting_as("cli"):
            if dry_run:
                _parsed, _mapping, result = import_services.preview_import(
                    kind, content, skip_duplicates=skip_duplicates
                )
            else:
                total = len(csvfile.parse(content).rows)
                with click.progressbar(length=total, label="Importing") as bar:
                    result = import_services.import_file(
                        kind, content, skip_duplicates=skip_duplicates, progress=bar.update
                    )
    except import_services.ImportRefused as error:
        db.session.rollback()
        for row in error.result.bad_rows:
            click.echo(f"  line {row.line}: {'; '.join(row.errors)}", err=True)
        raise click.ClickException(error.message) from None
    except ServiceError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    if dry_run:
        db.session.rollback()
        for row in result.bad_rows:
            click.echo(f"  line {row.line}: {'; '.join(row.errors)}", err=True)
    else:
        db.session.commit()
    click.echo(
        f"{'Would import' if dry_run else 'Imported'}: {result.count('new')} new, "
        f"{result.count('skip')} duplicates skipped, {result.count('error')} with errors."
    )


@crm_cli.command("export-csv")
@click.option("--kind", type=click.Choice(["contacts", "organisations"]), required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--delimiter", type=click.Choice([";", ","]), default=";", show_default=True)
def export_csv(kind: str, output: Path, delimiter: str) -> None:
    """Export organisations or contacts as a spreadsheet-safe CSV file (UTF-8 with BOM)."""
    from crm.imports import services as import_services

    if kind == "contacts":
        text = import_services.export_contacts(delimiter=delimiter)
    else:
        text = import_services.export_organisations(delimiter=delimiter)
    output.write_text(text, encoding="utf-8", newline="")
    db.session.commit()
    click.echo(f"Wrote {output}")


@crm_cli.command("retention")
def retention() -> None:
    """Run the retention job once: delete old dietary/access needs, flag inactive contacts."""
    from crm.db import utcnow
    from crm.privacy.services import run_retention

    result = run_retention(now=utcnow())
    db.session.commit()
    click.echo(
        f"Cleared sensitive needs of {result.cleared} contacts; flagged {result.flagged} "
        f"for review ({result.unflagged} no longer flagged)."
    )
