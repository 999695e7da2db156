"""Telegram: stored inbound updates (dedupe + work queue), evidence blobs, grievance evidence.

Revision ID: 0004_telegram
Revises: 0003_bot
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_telegram"
down_revision = "0003_bot"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "telegram_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("processed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_telegram_updates"),
    )
    op.create_index("ix_telegram_updates_chat_id", "telegram_updates", ["chat_id"], unique=False)
    op.create_index("ix_telegram_updates_due", "telegram_updates", ["status", "next_attempt_at"],
                    unique=False)
    op.create_table(
        "evidence_blobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_blobs"),
    )
    op.create_index("ix_evidence_blobs_sha256", "evidence_blobs", ["sha256"], unique=False)
    op.create_table(
        "grievance_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grievance_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=500), nullable=False),
        sa.Column("exif_stripped", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["grievance_id"], ["grievances.id"], ondelete="CASCADE",
                                name="fk_grievance_evidence_grievance_id_grievances"),
        sa.PrimaryKeyConstraint("id", name="pk_grievance_evidence"),
    )
    op.create_index("ix_grievance_evidence_grievance_id", "grievance_evidence", ["grievance_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_grievance_evidence_grievance_id", table_name="grievance_evidence")
    op.drop_table("grievance_evidence")
    op.drop_index("ix_evidence_blobs_sha256", table_name="evidence_blobs")
    op.drop_table("evidence_blobs")
    op.drop_index("ix_telegram_updates_due", table_name="telegram_updates")
    op.drop_index("ix_telegram_updates_chat_id", table_name="telegram_updates")
    op.drop_table("telegram_updates")
