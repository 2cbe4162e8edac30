"""What an admin reads after a reindex that found nothing to change, in each chat channel."""

from __future__ import annotations

from bot import messages
from bot.channels.telegram.render import report_messages
from bot.channels.zalo.render import render_report
from bot.models import IndexReport

UNCHANGED = IndexReport(version="20260101T000000Z", documents=8, passages=40, unchanged=["a", "b"],
                        reused_passages=40, seconds=0.2, unchanged_collection=True)
BUILT = IndexReport(version="20260101T000000Z", documents=8, passages=40, added=["a"], embedded_passages=5,
                    reused_passages=35, seconds=2.0)


def test_a_reindex_with_nothing_changed_says_so_in_telegram_and_zalo():
    for text in (report_messages(UNCHANGED)[0], render_report(UNCHANGED)[0]):
        assert text.startswith("Không có thay đổi") and "20260101T000000Z" in text


def test_a_real_reindex_does_not_say_nothing_changed():
    for text in (report_messages(BUILT)[0], render_report(BUILT)[0]):
        assert messages.INDEX_UNCHANGED.split(":")[0] not in text
