"""fine points: service complaints and the customer contact window (issue 12, 3(d), 3(e))

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    # "product" or "service" (procedure scope: 产品、服务); empty on older cases = product
    ("complaint_kind", lambda: sa.String(length=16)),
    # procedure 5.1.2: who speaks to the customer, and by when
    ("contact_window", lambda: sa.String(length=32)),
    ("contact_by", lambda: sa.Date()),
)


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name, kind in COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
