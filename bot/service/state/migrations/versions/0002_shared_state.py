"""State shared by workers: buttons, follow-up sessions, rate limits, handled updates, locks.

Questions get the key of the update that asked them, so a redelivered update is counted once.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("questions") as batch:
        batch.add_column(sa.Column("update_key", sa.Text, nullable=True))
    op.create_index("questions_update_key", "questions", ["channel", "update_key"], unique=True)
    op.create_table("state_meta", sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    with op.batch_alter_table("buttons") as batch:
        batch.alter_column("expires", new_column_name="expires_at", existing_type=sa.Float, existing_nullable=False)
    op.create_index("ix_buttons_expires_at", "buttons", ["expires_at"])
    op.create_table("button_votes", sa.Column("key", sa.String(32), primary_key=True),
                    sa.Column("user_key", sa.String(64), primary_key=True),
                    sa.Column("at", sa.Float, nullable=False))
    op.create_table("sessions", sa.Column("channel", sa.String(32), primary_key=True),
                    sa.Column("chat_key", sa.String(64), primary_key=True),
                    sa.Column("expires_at", sa.Float, nullable=False),
                    sa.Column("payload", sa.Text, nullable=False))
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])
    op.create_table("rate_limits", sa.Column("scope", sa.String(32), primary_key=True),
                    sa.Column("user_key", sa.String(64), primary_key=True),
                    sa.Column("updated_at", sa.Float, nullable=False),
                    sa.Column("stamps", sa.Text, nullable=False))
    op.create_index("ix_rate_limits_updated_at", "rate_limits", ["updated_at"])
    op.create_table("handled_updates", sa.Column("channel", sa.String(32), primary_key=True),
                    sa.Column("update_id", sa.String(128), primary_key=True),
                    sa.Column("status", sa.String(16), nullable=False),
                    sa.Column("holder", sa.String(128), nullable=False),
                    sa.Column("lease_until", sa.Float, nullable=False),
                    sa.Column("attempts", sa.Integer, nullable=False),
                    sa.Column("updated_at", sa.Float, nullable=False))
    op.create_index("ix_handled_updates_updated_at", "handled_updates", ["updated_at"])
    op.create_table("locks", sa.Column("name", sa.String(64), primary_key=True),
                    sa.Column("holder", sa.String(128), nullable=False),
                    sa.Column("lease_until", sa.Float, nullable=False))


def downgrade() -> None:
    for name in ("locks", "handled_updates", "rate_limits", "sessions", "button_votes", "state_meta"):
        op.drop_table(name)
    op.drop_index("ix_buttons_expires_at", "buttons")
    with op.batch_alter_table("buttons") as batch:
        batch.alter_column("expires_at", new_column_name="expires", existing_type=sa.Float, existing_nullable=False)
    op.drop_index("questions_update_key", "questions")
    with op.batch_alter_table("questions") as batch:
        batch.drop_column("update_key")
