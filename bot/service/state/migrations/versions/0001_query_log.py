"""The query log as earlier releases created it (questions, feedback, buttons).

A log file written by a release before the state store has these tables without an alembic_version:
they are kept, and columns that very old logs lack are added.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    tables = set(inspector.get_table_names())
    if "questions" not in tables:
        op.create_table(
            "questions",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.Float, nullable=False),
            sa.Column("channel", sa.Text, nullable=False),
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("chat_id", sa.Text, nullable=False),
            sa.Column("question", sa.Text, nullable=False),
            sa.Column("found", sa.Integer, nullable=False),
            sa.Column("top_doc_id", sa.Text, nullable=False, server_default=""),
            sa.Column("index_version", sa.Text, nullable=False, server_default=""),
            sa.Column("chat_type", sa.Text, nullable=False, server_default=""),
            sa.Column("doc_ids", sa.Text, nullable=False, server_default="[]"),
        )
    else:
        columns = {c["name"] for c in inspector.get_columns("questions")}
        for name, default in (("chat_type", ""), ("doc_ids", "[]")):
            if name not in columns:
                op.add_column("questions", sa.Column(name, sa.Text, nullable=False, server_default=default))
    if "feedback" not in tables:
        op.create_table(
            "feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("at", sa.Float, nullable=False),
            sa.Column("channel", sa.Text, nullable=False),
            sa.Column("user_id", sa.Text, nullable=False),
            sa.Column("question_id", sa.Integer, nullable=True),
            sa.Column("passage_id", sa.Text, nullable=False, server_default=""),
            sa.Column("useful", sa.Integer, nullable=False),
        )


    if "buttons" not in tables:
        op.create_table("buttons", sa.Column("key", sa.Text, primary_key=True),
                        sa.Column("expires", sa.Float, nullable=False),
                        sa.Column("payload", sa.Text, nullable=False))


def downgrade() -> None:
    op.drop_table("buttons")
    op.drop_table("feedback")
    op.drop_table("questions")
