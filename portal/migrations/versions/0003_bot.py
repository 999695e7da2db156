"""Bot conversation state (SQL backend of bot/state.py).

Revision ID: 0003_bot
Revises: 0002_cases
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_bot"
down_revision = "0002_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bot_conversations",
        sa.Column("key", sa.String(length=190), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bot_conversations")),
    )
    op.create_index(op.f("ix_bot_conversations_expires_at"), "bot_conversations", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bot_conversations_expires_at"), table_name="bot_conversations")
    op.drop_table("bot_conversations")
