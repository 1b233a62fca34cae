"""The publisher's late ``enqueued_at`` mark carries the publish time: an item that ran, failed and
came due for its retry before the mark was written (a stalled publisher thread) is still published
again by the sweeper."""
from __future__ import annotations

from datetime import datetime, timedelta

from b24app import inbox
from b24app.db import Database
from b24app.models import InboxItem, utcnow


def _due_for_retry(db: Database, published_at: datetime) -> int:
    """An item published at ``published_at`` that ran, failed, and whose retry is due by now."""
    item_id = inbox.accept(db, member_id="m1", kind="event", name="ONUSERUPDATE", dedupe_key="k1", payload={})
    assert item_id is not None
    assert inbox.claim_item(db, item_id, holder="w1", lease_s=30) is not None
    assert inbox.record_failure(db, item_id, "w1", "boom", fatal=False) == "pending"
    with db.session() as session:  # the backoff has passed (as after a stall of the publisher)
        session.get_one(InboxItem, item_id).next_attempt_at = published_at + timedelta(seconds=5)
    return item_id


def test_a_late_mark_with_the_publish_time_leaves_the_retry_to_the_sweeper(database_url: str) -> None:
    db = Database(database_url)
    published_at = utcnow() - timedelta(seconds=10)
    item_id = _due_for_retry(db, published_at)
    inbox.mark_enqueued(db, [item_id], published_at)
    assert inbox.unpublished(db, older_than_s=1, lost_after_s=3600) == [(item_id, "m1")]
    db.dispose()


def test_a_late_mark_stamped_when_written_would_hide_the_retry(database_url: str) -> None:
    """The control: stamped with the time of writing, the mark says the retry is on the broker already."""
    db = Database(database_url)
    item_id = _due_for_retry(db, utcnow() - timedelta(seconds=10))
    inbox.mark_enqueued(db, [item_id], utcnow())
    assert inbox.unpublished(db, older_than_s=1, lost_after_s=3600) == []
    db.dispose()
