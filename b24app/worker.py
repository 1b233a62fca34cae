"""The worker: takes inbox items and runs their handlers.

The seam for a distributed task engine is :class:`Executor`: intake calls ``notify(item_id)``
after committing an item. The in-process executor wakes a polling thread; a Celery executor
would enqueue ``process_item(item_id)`` instead. Handlers never know which one runs them.
"""
from __future__ import annotations

import logging
import os
import threading
import uuid
from typing import Any, Mapping, Protocol

from flask import Flask

from b24app import inbox
from b24app.db import get_db
from b24app.dispatch import FatalHandlerError, HandlerContext, handler_key
from b24app.features import get_features

log = logging.getLogger(__name__)

LEASE_S = 300.0  # longer than any single handler's 1C/Bitrix24 calls with their timeouts
BATCH = 20


class LeaseLost(Exception):
    """Another worker took the item over while this one was processing it."""


class Executor(Protocol):
    def notify(self, item_id: int) -> None: ...


class PollingWorker:
    """Claims and processes inbox items in a loop until stopped."""

    def __init__(self, app: Flask, *, poll_interval_s: float = 0.5, lease_s: float = LEASE_S) -> None:
        self.app = app
        self.poll_interval_s = poll_interval_s
        self.lease_s = lease_s
        self.holder = f"worker-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.wakeup = threading.Event()
        self.stopping = threading.Event()

    def notify(self, item_id: int) -> None:
        self.wakeup.set()

    def run_once(self) -> int:
        """Process one claimed batch; return how many items were processed."""
        db = get_db(self.app)
        messages = inbox.claim(db, holder=self.holder, limit=BATCH, lease_s=self.lease_s)
        for message in messages:
            # the batch is worked through one by one: each item's lease restarts when its turn comes
            if inbox.extend_lease(db, message.id, self.holder, self.lease_s):
                self.process(message)
        return len(messages)

    def run_forever(self) -> None:
        log.info("worker %s started", self.holder)
        while not self.stopping.is_set():
            try:
                processed = self.run_once()
            except Exception:  # a broken database must not kill the loop; it is logged and retried
                log.exception("worker loop error")
                processed = 0
            if not processed:
                self.wakeup.wait(self.poll_interval_s)
                self.wakeup.clear()

    def start_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="b24app-worker", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()

    def process(self, message: inbox.InboxMessage) -> None:
        """Run the handler and mark the item done in the handler's own transaction."""
        db = get_db(self.app)
        handler = get_features(self.app).handler(handler_key(message.kind, message.name))
        try:
            with self.app.app_context(), db.session() as session:
                # The handler runs first: it makes its external calls before writing with the
                # session, so the write transaction (a database-wide lock on SQLite) stays short.
                if handler is not None:
                    handler(HandlerContext(self.app, message), session)
                row = inbox.lock_for_completion(session, message.id, self.holder)
                if row is None:
                    raise LeaseLost(message.id)  # rolls back the handler's writes
                inbox.mark_done(row, None if handler else f"нет обработчика для {message.kind} {message.name}")
        except LeaseLost:
            log.warning("inbox item %s: lease lost, left to its new owner", message.id)
        except FatalHandlerError as exc:
            inbox.record_failure(db, message.id, self.holder, str(exc), fatal=True)
        except Exception as exc:  # any handler failure is retried with backoff, then parked
            log.warning("inbox item %s (%s %s) failed: %s", message.id, message.kind, message.name,
                        type(exc).__name__)
            inbox.record_failure(db, message.id, self.holder, f"{type(exc).__name__}: {exc}", fatal=False)


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Register the in-process executor (replaced by a task engine in scale-out setups).

    ``settings`` is the ``worker`` section of app.yaml: ``poll_interval_s``, ``lease_s`` (how long
    a crashed worker's items wait before another worker takes them over).
    """
    app.extensions["b24app.worker"] = PollingWorker(
        app, poll_interval_s=float(settings.get("poll_interval_s", 0.5)),
        lease_s=float(settings.get("lease_s", LEASE_S)))


def get_executor(app: Flask) -> Executor:
    return app.extensions["b24app.worker"]
