"""Quiz series scheduled for a chat ("thứ 5 19:30 5 câu Quy định 294"), kept in the state store.

Times are Vietnam time (UTC+7, no daylight saving), whatever the server's time zone.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa

from bot import messages
from bot.documents.vietnamese import fold
from bot.service.quiz import MAX_SERIES
from bot.service.state import StateStore
from bot.service.state.store import NEW
from bot.service.state import schema as t

VIETNAM = dt.timezone(dt.timedelta(hours=7), "ICT")
EVERY_DAY = -1
_WEEKDAYS = {"hai": 0, "2": 0, "ba": 1, "3": 1, "tu": 2, "4": 2, "nam": 3, "5": 3, "sau": 4, "6": 4,
             "bay": 5, "7": 5}
_DAY = re.compile(r"^\s*(?:(?:thu|t)\s*(hai|ba|tu|nam|sau|bay|[2-7])|(chu nhat|cn)|(hang ngay|moi ngay))\b")
_TIME = re.compile(r"\s*([01]?\d|2[0-3])\s*(?::|h|g|gio)\s*([0-5]\d)?\b")
_COUNT = re.compile(r"\s*(\d{1,2})\s*cau\b")


class ScheduleError(ValueError):
    """A schedule a user typed cannot be read; the message says how to write it, in Vietnamese."""


@dataclass(frozen=True)
class Schedule:
    schedule_id: int
    channel: str
    chat_id: str
    weekday: int  # 0 Monday .. 6 Sunday; EVERY_DAY
    minute: int  # minutes after midnight, Vietnam time
    count: int
    topic: str

    @property
    def time(self) -> dt.time:
        return dt.time(self.minute // 60, self.minute % 60, tzinfo=VIETNAM)

    def describe(self) -> str:
        day = messages.QUIZ_EVERY_DAY if self.weekday == EVERY_DAY else messages.QUIZ_WEEKDAYS[self.weekday]
        return messages.QUIZ_SCHEDULE_LINE.format(id=self.schedule_id, day=day, hour=self.minute // 60,
                                                  minute=self.minute % 60, count=self.count,
                                                  topic=self.topic or messages.QUIZ_ANY_TOPIC)


def parse_schedule(text: str) -> tuple[int, int, int, str]:
    """"thứ 5 19:30 5 câu Quy định 294" -> (3, 1170, 5, "Quy định 294"); ScheduleError when unreadable."""
    original = (text or "").strip()
    folded = fold(original).lower()
    day = _DAY.match(folded)
    if not day:
        raise ScheduleError(messages.QUIZ_SCHEDULE_USAGE)
    weekday = _WEEKDAYS[day.group(1)] if day.group(1) else (6 if day.group(2) else EVERY_DAY)
    at = _TIME.match(folded, day.end())
    if not at:
        raise ScheduleError(messages.QUIZ_SCHEDULE_USAGE)
    minute = int(at.group(1)) * 60 + int(at.group(2) or 0)
    count, end = 1, at.end()
    many = _COUNT.match(folded, end)
    if many:
        count, end = max(1, min(int(many.group(1)), MAX_SERIES)), many.end()
    # fold() keeps the length of the text, so the topic is cut from the original words
    topic = original[end:].strip() if len(folded) == len(original) else folded[end:].strip()
    return weekday, minute, count, topic


_RUNS = "quiz-schedule"  # the handled-updates table records which worker posted each run of a series
_RUN_LEASE = 24 * 3600.0  # a run is claimed for the day: a worker that dies while posting is not replaced


class QuizSchedules:
    """The schedules of every chat, in the state store (one short transaction per call)."""

    def __init__(self, store: StateStore):
        self.store = store

    def add(self, *, channel: str, chat_id: str | int, weekday: int, minute: int, count: int, topic: str,
            created_by: str | int) -> Schedule:
        values = dict(channel=channel, chat_id=str(chat_id), weekday=weekday, minute=minute, count=count,
                      topic=topic, created_by=self.store.anonymous(created_by), created_at=self.store.clock())
        with self.store._tx() as c:
            new_id = c.execute(t.quiz_schedules.insert().values(**values)).inserted_primary_key[0]
        return Schedule(int(new_id), channel, str(chat_id), weekday, minute, count, topic)

    def all(self, channel: str, chat_id: str | int | None = None) -> list[Schedule]:
        q = t.quiz_schedules.c
        query = sa.select(q.id, q.channel, q.chat_id, q.weekday, q.minute, q.count, q.topic).where(
            q.channel == channel).order_by(q.id)
        if chat_id is not None:
            query = query.where(q.chat_id == str(chat_id))
        with self.store._tx() as c:
            return [Schedule(int(r.id), r.channel, r.chat_id, r.weekday, r.minute, r.count, r.topic)
                    for r in c.execute(query)]

    def claim_run(self, schedule: Schedule, slot: str, holder: str) -> bool:
        """Whether this worker posts this run of the series (`slot`: its date and time). Every worker of a
        deployment runs the schedules it knows; the first to claim a run posts it, the others skip it, and a
        schedule removed meanwhile is not posted at all."""
        if not any(s.schedule_id == schedule.schedule_id for s in self.all(schedule.channel, schedule.chat_id)):
            return False
        return self.store.claim_update(_RUNS, f"{schedule.schedule_id}@{slot}", holder, _RUN_LEASE) == NEW

    def remove(self, channel: str, chat_id: str | int, schedule_id: int) -> bool:
        q = t.quiz_schedules.c
        with self.store._tx() as c:
            gone = c.execute(t.quiz_schedules.delete().where(
                q.channel == channel, q.chat_id == str(chat_id), q.id == schedule_id))
        return gone.rowcount > 0
