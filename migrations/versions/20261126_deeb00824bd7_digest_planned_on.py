"""The digest rule remembers the last day it planned, so a day's digest is planned once

Revision ID: deeb00824bd7
Revises: f58e538e1f36
Create Date: 2026-11-26 22:10:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "deeb00824bd7"
down_revision = "f58e538e1f36"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("reminder_rule", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_planned_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("reminder_rule", schema=None) as batch_op:
        batch_op.drop_column("digest_planned_on")
