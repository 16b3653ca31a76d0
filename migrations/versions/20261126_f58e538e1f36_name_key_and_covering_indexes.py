"""Contacts keep a name key (duplicate checks look similar names up by index); covering
indexes for what an organisation or contact takes part in, and for the event list's filters

Revision ID: f58e538e1f36
Revises: 6dfb85194c5e
Create Date: 2026-11-26 13:19:44.359260

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f58e538e1f36'
down_revision = '6dfb85194c5e'
branch_labels = None
depends_on = None


def _name_key(first_name, last_name):
    """crm.contacts.models.name_key as of this revision (a migration keeps its own copy)."""
    text = f"{first_name or ''} {last_name or ''}".casefold()
    text = text.replace("æ", "ae").replace("ø", "o").replace("å", "a")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = text.replace("aa", "a").replace("oe", "o")
    return " ".join(sorted(text.split()))[:250]


def _fill_name_keys():
    contact = sa.table(
        "contact",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("name_key", sa.String),
    )
    connection = op.get_bind()
    last_id = 0
    while True:  # in batches of 5,000, so that 100,000 contacts take a few seconds
        rows = connection.execute(
            sa.select(contact.c.id, contact.c.first_name, contact.c.last_name)
            .where(contact.c.id > last_id)
            .order_by(contact.c.id)
            .limit(5000)
        ).all()
        if not rows:
            return
        connection.execute(
            contact.update()
            .where(contact.c.id == sa.bindparam("contact_id"))
            .values(name_key=sa.bindparam("key")),
            [{"contact_id": i, "key": _name_key(first, last)} for i, first, last in rows],
        )
        last_id = rows[-1][0]


def upgrade():
    # Plain ALTER TABLEs, not batch mode: SQLite would copy the table and lose its
    # expression index (ix_contact_email_lower). The column keeps its '' default.
    op.add_column(
        'contact', sa.Column('name_key', sa.String(length=250), nullable=False, server_default="")
    )
    _fill_name_keys()
    op.create_index('ix_contact_name_key', 'contact', ['name_key'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_kind'))
        batch_op.create_index('ix_event_kind_range', ['kind', 'ends_at', 'starts_at'], unique=False)
        batch_op.create_index('ix_event_live', ['id', 'starts_at'], unique=False, postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))

    with op.batch_alter_table('event_country', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_country_country'))
        batch_op.create_index('ix_event_country_country_event', ['country', 'event_id'], unique=False)

    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participation_contact_id'))
        batch_op.drop_index(batch_op.f('ix_participation_organisation_id'))
        batch_op.create_index('ix_participation_contact_taking', ['contact_id', 'event_id', 'role', 'id'], unique=False)
        batch_op.create_index('ix_participation_organisation_taking', ['organisation_id', 'event_id', 'role', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('participation', schema=None) as batch_op:
        batch_op.drop_index('ix_participation_organisation_taking')
        batch_op.drop_index('ix_participation_contact_taking')
        batch_op.create_index(batch_op.f('ix_participation_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participation_contact_id'), ['contact_id'], unique=False)

    with op.batch_alter_table('event_country', schema=None) as batch_op:
        batch_op.drop_index('ix_event_country_country_event')
        batch_op.create_index(batch_op.f('ix_event_country_country'), ['country'], unique=False)

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_live', postgresql_where=sa.text('deleted_at IS NULL'), sqlite_where=sa.text('deleted_at IS NULL'))
        batch_op.drop_index('ix_event_kind_range')
        batch_op.create_index(batch_op.f('ix_event_kind'), ['kind'], unique=False)

    op.drop_index('ix_contact_name_key', table_name='contact')
    op.drop_column('contact', 'name_key')  # SQLite 3.35+: no copy of the table

