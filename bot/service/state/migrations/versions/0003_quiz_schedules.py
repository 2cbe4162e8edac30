"""Quiz series scheduled by trainers for a chat (/lichontap), kept across restarts.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("quiz_schedules", sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("channel", sa.String(32), nullable=False),
                    sa.Column("chat_id", sa.Text, nullable=False),
                    sa.Column("weekday", sa.Integer, nullable=False),
                    sa.Column("minute", sa.Integer, nullable=False),
                    sa.Column("count", sa.Integer, nullable=False),
                    sa.Column("topic", sa.Text, nullable=False, server_default=""),
                    sa.Column("created_by", sa.Text, nullable=False, server_default=""),
                    sa.Column("created_at", sa.Float, nullable=False))


def downgrade() -> None:
    op.drop_table("quiz_schedules")
