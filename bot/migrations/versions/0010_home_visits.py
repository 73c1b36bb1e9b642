"""home visits: whose Home tab is in use, so only those are republished (issue 10, 7(d))

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.models.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "home_visits",
        sa.Column("user_id", sa.String(length=32), primary_key=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_home_visits_opened_at", "home_visits", ["opened_at"])


def downgrade() -> None:
    op.drop_index("ix_home_visits_opened_at", table_name="home_visits")
    op.drop_table("home_visits")
