"""Citizen tables: channel identities, consent, verification locks, one-time codes, rate limits.

Revision ID: 0001_citizen
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_citizen"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("person_spid", sa.String(32), nullable=True),
        sa.Column("household_id", sa.String(32), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level2_expires_at", TZ, nullable=True),
        sa.Column("level2_session", sa.String(128), nullable=True),
        sa.Column("pending_candidates", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("notifications_opted_out", sa.Boolean(), nullable=False),
        sa.Column("carrier_blocked", sa.Boolean(), nullable=False),
        sa.Column("opted_out_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_seen_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_identities"),
        sa.UniqueConstraint("channel", "address", name="uq_channel_identities_channel"),
    )
    op.create_index("ix_channel_identities_person_spid", "channel_identities", ["person_spid"])

    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("wording_version", sa.String(32), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consent_records"),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["channel_identities.id"],
            ondelete="SET NULL",
            name="fk_consent_records_identity_id_channel_identities",
        ),
    )
    op.create_index("ix_consent_records_identity_id", "consent_records", ["identity_id"])

    op.create_table(
        "verification_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_spid", sa.String(32), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", TZ, nullable=True),
        sa.Column("locked_until", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_verification_locks"),
        sa.UniqueConstraint("person_spid", name="uq_verification_locks_person_spid"),
    )

    op.create_table(
        "one_time_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("person_spid", sa.String(32), nullable=False),
        sa.Column("requester_channel", sa.String(16), nullable=False),
        sa.Column("requester_address", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_one_time_codes"),
    )
    op.create_index("ix_one_time_codes_person_spid", "one_time_codes", ["person_spid"])
    op.create_index(
        "ix_one_time_codes_requester", "one_time_codes", ["requester_channel", "requester_address"]
    )

    op.create_table(
        "rate_limit_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(190), nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rate_limit_counters"),
        sa.UniqueConstraint("key", "window_start", name="uq_rate_limit_counters_key"),
    )
    op.create_index("ix_rate_limit_counters_expires_at", "rate_limit_counters", ["expires_at"])


def downgrade() -> None:
    op.drop_table("rate_limit_counters")
    op.drop_table("one_time_codes")
    op.drop_table("verification_locks")
    op.drop_table("consent_records")
    op.drop_table("channel_identities")
