"""Publishing committed inbox items to the broker, after the 200, from a thread of the web process.

The inbox row is the durable record (committed before the 200); the task is only a pointer to it.
``Publisher.notify`` hands the id to a background thread that publishes batches with publisher
confirms to each portal's queue and later writes ``enqueued_at`` for the confirmed ones. A web
process that dies first, or a broker that is down, leaves rows without ``enqueued_at``: the
sweeper (``b24app.engine.sweeper``) publishes them again. Nothing accepted is lost.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from flask import Flask

from b24app import inbox
from b24app.db import get_db
from b24app.engine.celery_app import get_celery
from b24app.engine.queues import EXCHANGE, portal_queue
from b24app.engine.tasks import PROCESS_ITEMS
from b24app.models import utcnow
from b24app.portal import get_config

log = logging.getLogger(__name__)

BATCH = 500
LINGER_S = 0.02  # a publish gathers what is committed this long after its first item
PER_MESSAGE = 20  # item ids of one portal in one task message, at most
BROKER_DOWN_PAUSE_S = 1.0


def publish(app: Flask, items: Sequence[tuple[int, str]]) -> list[int]:
    """Publish tasks for ``(item_id, member_id)`` pairs, each portal's ids in messages of up to
    ``PER_MESSAGE``, with confirms; return the ids the broker confirmed."""
    celery = get_celery(app)
    by_portal: dict[str, list[int]] = {}
    for item_id, member_id in items:
        by_portal.setdefault(member_id, []).append(item_id)
    confirmed: list[int] = []
    with celery.producer_or_acquire() as producer:
        for member_id, ids in by_portal.items():
            target = portal_queue(member_id)
            for start in range(0, len(ids), PER_MESSAGE):
                chunk = ids[start:start + PER_MESSAGE]
                celery.send_task(PROCESS_ITEMS, args=(chunk,), queue=target, exchange=EXCHANGE,
                                 routing_key=target.routing_key, producer=producer, retry=False)
                confirmed.extend(chunk)
    return confirmed


def consume_portals(app: Flask, member_ids: Iterable[str]) -> None:
    """Ask every running worker to consume these portals' queues (a no-op where it already does)."""
    control = get_celery(app).control
    for member_id in member_ids:
        target = portal_queue(member_id)
        control.add_consumer(target.name, exchange=EXCHANGE.name, exchange_type="direct",
                             routing_key=target.routing_key, reply=False)


class Publisher:
    """The web process's executor under the celery engine.

    Its thread gathers what was committed within ``LINGER_S`` of the first item (off the request path:
    the 200 is already sent), publishes it as one message per portal (``PER_MESSAGE`` ids at most), and
    writes ``enqueued_at`` for everything confirmed at most every ``republish_after_s / 4``, in one
    statement. A mark lost with the process only makes the sweeper publish those items again, which
    is harmless (``b24app.engine.tasks``).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pending: queue.SimpleQueue[tuple[int, str]] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()
        self.announced: set[str] = set()
        self.mark_every_s = get_config(app).cluster.republish_after_s / 4

    def notify(self, item_id: int, member_id: str = "") -> None:
        self.pending.put((item_id, member_id))
        if self.thread is None:  # started lazily: after gunicorn forked this process
            with self.lock:
                if self.thread is None:
                    self.thread = threading.Thread(target=self._run, name="b24app-publisher", daemon=True)
                    self.thread.start()

    def _run(self) -> None:
        unmarked: list[int] = []
        published_at = utcnow()  # when the first unmarked item was published: the time its mark carries
        marked_at = time.monotonic()
        while True:
            batch = self._gather(self.mark_every_s if unmarked else None)
            if batch:
                published_at = published_at if unmarked else utcnow()
                unmarked += self._publish(batch)
            if unmarked and (not batch or time.monotonic() - marked_at >= self.mark_every_s):
                self._mark(unmarked, published_at)
                unmarked, marked_at = [], time.monotonic()

    def _gather(self, timeout: float | None) -> list[tuple[int, str]]:
        """The items committed within ``LINGER_S`` of the first one (none: nothing came in ``timeout``)."""
        try:
            batch = [self.pending.get(timeout=timeout)]
        except queue.Empty:
            return []
        deadline = time.monotonic() + LINGER_S
        while len(batch) < BATCH:
            try:
                batch.append(self.pending.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _publish(self, batch: list[tuple[int, str]]) -> list[int]:
        """Publish ``batch``; the ids confirmed (none when the broker failed: the sweeper retries)."""
        try:
            fresh = {member_id for _, member_id in batch} - self.announced
            if fresh:
                consume_portals(self.app, fresh)
                self.announced |= fresh
            return publish(self.app, batch)
        except Exception as error:  # the rows stay without enqueued_at: the sweeper publishes them
            log.warning("publishing %d inbox items failed (%s); the sweeper will retry", len(batch),
                        type(error).__name__)
            threading.Event().wait(BROKER_DOWN_PAUSE_S)
            return []

    def _mark(self, item_ids: list[int], published_at: datetime) -> None:
        try:
            inbox.mark_enqueued(get_db(self.app), item_ids, published_at)
        except Exception as error:  # unmarked: the sweeper publishes them again, harmlessly
            log.warning("marking %d inbox items published failed (%s)", len(item_ids), type(error).__name__)
