"""recurrence indexes: the newest cases of a customer, of a product (issue 10, 7(b))

The recurrence search at intake asked for the newest cases of the same customer OR the
same product; neither SQLite nor PostgreSQL walks two indexes newest-first for an OR, so
at 100k cases it scanned the table. It now asks once per name, each on its own index.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_customer_id", "cases", ["customer", "id"])
    op.create_index("ix_cases_product_id", "cases", ["product", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_product_id", table_name="cases")
    op.drop_index("ix_cases_customer_id", table_name="cases")
