"""indexes on the lookups that grew with all history: a thread reply's case, a case's
outbox rows and lot checks

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_card", "cases", ["channel_id", "card_ts"], unique=False)
    op.create_index("ix_outbox_case", "outbox", ["case_id"], unique=False)
    op.create_index("ix_lot_checks_case", "lot_checks", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_lot_checks_case", table_name="lot_checks")
    op.drop_index("ix_outbox_case", table_name="outbox")
    op.drop_index("ix_cases_card", table_name="cases")
