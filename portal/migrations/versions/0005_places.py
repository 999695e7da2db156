"""Places: the portal's copy of the gazetteer, loaded with the bundled data (synthetic below province).

Revision ID: 0005_places
Revises: 0004_telegram
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_places"
down_revision = "0004_telegram"
branch_labels = None
depends_on = None


def upgrade() -> None:
    places = op.create_table(
        "places",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("parent_code", sa.String(length=8), nullable=True),
        sa.Column("name_km", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("synthetic", sa.Boolean(), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_places"),
    )
    op.create_index("ix_places_parent_code", "places", ["parent_code"], unique=False)
    from registry_sandbox.gazetteer import synthetic_units

    op.bulk_insert(places, synthetic_units())


def downgrade() -> None:
    op.drop_index("ix_places_parent_code", table_name="places")
    op.drop_table("places")
