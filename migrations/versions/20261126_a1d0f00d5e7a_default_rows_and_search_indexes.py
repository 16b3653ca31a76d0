"""default rows (the public calendar, reminder rules) and trigram search indexes

Revision ID: a1d0f00d5e7a
Revises: bb498ebbb316
Create Date: 2026-11-26 09:00:00

The public calendar and the default reminder rules exist from the first migration on, so a
fresh installation has them before anyone logs in. The values are written out here (not read
from the application's code) so that this migration keeps meaning the same thing later.

On PostgreSQL, searches use LIKE '%...%' on the case-folded search_text columns; trigram GIN
indexes keep them fast at 100,000 contacts. SQLite has no such index and does not need one at
its scale. migrations/env.py leaves indexes named *_trgm out of autogenerate.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

import crm.db

revision = "a1d0f00d5e7a"
down_revision = "bb498ebbb316"
branch_labels = None
depends_on = None

NOW = dt.datetime(2026, 11, 26, tzinfo=dt.UTC)
TRIGRAM_TABLES = ("contact", "organisation", "event")

calendar = sa.table(
    "calendar",
    sa.column("slug", sa.String),
    sa.column("name_nb", sa.String),
    sa.column("name_en", sa.String),
    sa.column("description_nb", sa.Text),
    sa.column("description_en", sa.Text),
    sa.column("is_public", sa.Boolean),
    sa.column("rule_enabled", sa.Boolean),
    sa.column("rule_kinds", sa.String),
    sa.column("rule_visibilities", sa.String),
    sa.column("rule_tags", sa.String),
    sa.column("created_at", crm.db.UTCDateTime()),
    sa.column("updated_at", crm.db.UTCDateTime()),
)

reminder_rule = sa.table(
    "reminder_rule",
    sa.column("kind", sa.String),
    sa.column("offset_hours", sa.Integer),
    sa.column("send_time", sa.Time),
    sa.column("is_active", sa.Boolean),
    sa.column("created_at", crm.db.UTCDateTime()),
    sa.column("updated_at", crm.db.UTCDateTime()),
)


def upgrade():
    op.bulk_insert(
        calendar,
        [
            {
                "slug": "public",
                "name_nb": "Internasjonale arrangementer i Trondheim",
                "name_en": "International events in Trondheim",
                "description_nb": "Offentlige arrangementer som vertskapskontoret står bak "
                "eller deltar i.",
                "description_en": "Public events hosted or attended by the city's "
                "international office.",
                "is_public": True,
                "rule_enabled": True,
                "rule_kinds": "",
                "rule_visibilities": "public",
                "rule_tags": "",
                "created_at": NOW,
                "updated_at": NOW,
            }
        ],
    )
    rules = [
        ("event_responsible", 24, None),
        ("followup_digest", 0, dt.time(7, 0)),
        ("event_participant", 48, None),
        ("followup_assigned", 0, None),
    ]
    op.bulk_insert(
        reminder_rule,
        [
            {
                "kind": kind,
                "offset_hours": hours,
                "send_time": send_time,
                "is_active": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
            for kind, hours, send_time in rules
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in TRIGRAM_TABLES:
            op.execute(
                f"CREATE INDEX IF NOT EXISTS ix_{table}_search_text_trgm "
                f"ON {table} USING gin (search_text gin_trgm_ops)"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in TRIGRAM_TABLES:
            op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_text_trgm")
    op.execute("DELETE FROM reminder_rule")
    op.execute("DELETE FROM calendar WHERE slug = 'public'")
