"""The `flask --app wsgi crm ...` commands."""

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
