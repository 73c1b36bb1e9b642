"""taxonomy and recurrence: a complaint's category, the case it may repeat, the case
whose investigation it joined; indexes for the KPI aggregates and the recurrence search

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("category", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("linked_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("recurrence", sa.JSON(), nullable=True))
        batch.create_foreign_key("fk_cases_linked_to_id_cases", "cases", ["linked_to_id"], ["id"])
    op.create_index("ix_cases_received", "cases", ["received_at"])
    op.create_index("ix_cases_customer_product", "cases", ["customer", "product"])
    op.create_index("ix_cases_linked", "cases", ["linked_to_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_linked", table_name="cases")
    op.drop_index("ix_cases_customer_product", table_name="cases")
    op.drop_index("ix_cases_received", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint("fk_cases_linked_to_id_cases", type_="foreignkey")
        batch.drop_column("recurrence")
        batch.drop_column("linked_to_id")
        batch.drop_column("category")
