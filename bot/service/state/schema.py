"""The tables of the state store, as SQLAlchemy Core objects (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("channel", Text, nullable=False),
    Column("user_id", Text, nullable=False),  # salted hash
    Column("chat_id", Text, nullable=False),  # salted hash
    Column("question", Text, nullable=False),
    Column("found", Integer, nullable=False),
    Column("top_doc_id", Text, nullable=False, server_default=""),
    Column("index_version", Text, nullable=False, server_default=""),
    Column("chat_type", Text, nullable=False, server_default=""),
    Column("doc_ids", Text, nullable=False, server_default="[]"),
    # the update that asked it: a redelivered update is not counted twice
    Column("update_key", Text, nullable=True),
)
Index("questions_update_key", questions.c.channel, questions.c.update_key, unique=True)

feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("channel", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("question_id", Integer, nullable=True),
    Column("passage_id", Text, nullable=False, server_default=""),
    Column("useful", Integer, nullable=False),
)

meta = Table(
    "state_meta", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

buttons = Table(
    "buttons", metadata,
    Column("key", Text, primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
    Column("payload", Text, nullable=False),
)

button_votes = Table(
    "button_votes", metadata,
    Column("key", String(32), primary_key=True),
    Column("user_key", String(64), primary_key=True),
    Column("at", Float, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("channel", String(32), primary_key=True),
    Column("chat_key", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False, index=True),
    Column("payload", Text, nullable=False),
)

rate_limits = Table(
    "rate_limits", metadata,
    Column("scope", String(32), primary_key=True),
    Column("user_key", String(64), primary_key=True),
    Column("updated_at", Float, nullable=False, index=True),
    Column("stamps", Text, nullable=False),  # JSON [[time, event key], ...] inside the window
)

handled_updates = Table(
    "handled_updates", metadata,
    Column("channel", String(32), primary_key=True),
    Column("update_id", String(128), primary_key=True),
    Column("status", String(16), nullable=False),  # working | done
    Column("holder", String(128), nullable=False),
    Column("lease_until", Float, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
)

locks = Table(
    "locks", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("lease_until", Float, nullable=False),
)

quiz_schedules = Table(
    "quiz_schedules", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    Column("chat_id", Text, nullable=False),  # where to post (a group's id, needed in clear to post there)
    Column("weekday", Integer, nullable=False),  # 0 Monday .. 6 Sunday; -1 every day
    Column("minute", Integer, nullable=False),  # minutes after midnight, Vietnam time (UTC+7)
    Column("count", Integer, nullable=False),
    Column("topic", Text, nullable=False, server_default=""),
    Column("created_by", Text, nullable=False, server_default=""),  # salted hash of the trainer's id
    Column("created_at", Float, nullable=False),
)
