"""clocks: the clock of the step a case waits for, and its corrective actions' dates

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.models.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("clock_name", lambda: sa.String(length=24)),
    ("clock_since", lambda: bot.models.base.UTCDateTime()),
    ("clock_due_at", lambda: bot.models.base.UTCDateTime()),
    ("clock_status", lambda: sa.String(length=32)),
    ("clock_step", lambda: sa.Integer()),
    ("action_due_at", lambda: bot.models.base.UTCDateTime()),
    ("action_owner", lambda: sa.String(length=32)),
    ("action_items", lambda: sa.JSON()),
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
