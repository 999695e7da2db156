"""Consent lookup by channel address: an index (every first USSD hop reads it).

Revision ID: 0006_consent_lookup
Revises: 0005_places
"""

from alembic import op

revision = "0006_consent_lookup"
down_revision = "0005_places"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_consent_records_channel_address", "consent_records", ["channel", "address"])


def downgrade() -> None:
    op.drop_index("ix_consent_records_channel_address", table_name="consent_records")
