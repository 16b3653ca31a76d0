"""Migrations: one head, and applying them yields exactly the models' schema."""

import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory

from config import database_url

ROOT = Path(__file__).resolve().parent.parent


def test_migrations_have_a_single_head():
    config = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_upgrade_on_an_empty_database_matches_the_models(empty_database_uri):
    env = {"DATABASE_URL": empty_database_uri, "PATH": "/usr/bin:/bin"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db"]
    upgrade = subprocess.run([*flask, "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run([*flask, "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    engine = sa.create_engine(database_url(empty_database_uri))
    with engine.connect() as conn:
        # the public calendar and the default reminder rules exist from the first migration on
        assert conn.scalar(sa.text("SELECT count(*) FROM calendar WHERE slug = 'public'")) == 1
        kinds = set(conn.scalars(sa.text("SELECT kind FROM reminder_rule")))
        assert kinds == {
            "event_responsible",
            "event_participant",
            "followup_digest",
            "followup_assigned",
        }
        if conn.dialect.name == "postgresql":
            indexes = set(conn.scalars(sa.text("SELECT indexname FROM pg_indexes")))
            assert "ix_contact_search_text_trgm" in indexes
    engine.dispose()
    downgrade = subprocess.run(
        [*flask, "downgrade", "base"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert downgrade.returncode == 0, downgrade.stderr


def test_upgrade_gives_existing_contacts_their_name_key(empty_database_uri):
    """Contacts made before the name key existed get the key the app computes (6,001 of them:
    more than one batch), so duplicate checks find their similar names after the upgrade."""
    from crm.contacts.models import name_key

    env = {"DATABASE_URL": empty_database_uri, "PATH": "/usr/bin:/bin"}
    flask = [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"]
    before = subprocess.run([*flask, "6dfb85194c5e"], cwd=ROOT, env=env, capture_output=True)
    assert before.returncode == 0, before.stderr
    names = [("Bjørn", "Sæther"), ("Åse", "Ødegård"), ("", "Müller-Lüdenscheidt")]
    names += [(f"Person{i}", "Aasen") for i in range(6000)]
    engine = sa.create_engine(database_url(empty_database_uri))
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO contact (first_name, last_name, title, email, other_emails, phone,"
                " languages, preferred_language, dietary_needs, access_needs, notes,"
                " search_text, version, created_at, updated_at) VALUES (:first, :last, '', '',"
                " '', '', '', 'en', '', '', '', '', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            [{"first": first, "last": last} for first, last in names],
        )
    after = subprocess.run(flask, cwd=ROOT, env=env, capture_output=True)
    assert after.returncode == 0, after.stderr
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT first_name, last_name, name_key FROM contact")).all()
    engine.dispose()
    assert len(rows) == len(names)
    assert {key for first, last, key in rows if last == "Sæther"} == {"bjorn saether"}
    assert all(key == name_key(first, last) for first, last, key in rows)
