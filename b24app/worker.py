"""The worker: takes inbox items and runs their handlers.

The seam for a distributed task engine is :class:`Executor`: intake calls ``notify(item_id, member_id)``
after committing an item. The in-process executor (the embedded default) wakes a polling thread; the
celery engine (``b24app.engine``) publishes a ``process_items`` task instead. Both run an item with
:func:`process_message`; handlers never know which engine runs them.
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
from b24app.portal import get_config, get_store
from b24app.tenancy import portal_scope

log = logging.getLogger(__name__)

LEASE_S = 300.0  # longer than any single handler's 1C/Bitrix24 calls with their timeouts
BATCH = 20


class LeaseLost(Exception):
    """Another worker took the item over while this one was processing it."""


class Executor(Protocol):
    def notify(self, item_id: int, member_id: str = "") -> None: ...


class PollingWorker:
    """Claims and processes inbox items in a loop until stopped."""

    def __init__(self, app: Flask, *, poll_interval_s: float = 0.5, lease_s: float = LEASE_S) -> None:
        self.app = app
        self.poll_interval_s = poll_interval_s
        self.lease_s = lease_s
        self.holder = f"worker-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.wakeup = threading.Event()
        self.stopping = threading.Event()

    def notify(self, item_id: int, member_id: str = "") -> None:
        self.wakeup.set()

    def run_once(self) -> int:
        """Process one claimed batch; return how many items were processed."""
        db = get_db(self.app)
        messages = inbox.claim(db, holder=self.holder, limit=BATCH, lease_s=self.lease_s,
                               paused=get_store(self.app).paused())
        for message in messages:
            # the batch is worked through one by one: each item's lease restarts when its turn comes
            if inbox.extend_lease(db, message.id, self.holder, self.lease_s):
                process_message(self.app, message, self.holder)
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

    def process(self, message: inbox.InboxMessage) -> str:
        return process_message(self.app, message, self.holder)


def process_message(app: Flask, message: inbox.InboxMessage, holder: str) -> str:
    """Run the handler, in the portal's scope, and mark the item done in the handler's own transaction;
    return the item's new status ("done", "pending" for a retry, "failed", or "lost" to a new owner)."""
    db = get_db(app)
    handler = get_features(app).handler(handler_key(message.kind, message.name))
    try:
        with app.app_context(), portal_scope(message.member_id), db.session() as session:
            # The handler runs first: it makes its external calls before writing with the
            # session, so the write transaction (a database-wide lock on SQLite) stays short.
            if handler is not None:
                handler(HandlerContext(app, message), session)
            row = inbox.lock_for_completion(session, message.id, holder)
            if row is None:
                raise LeaseLost(message.id)  # rolls back the handler's writes
            inbox.mark_done(row, None if handler else f"нет обработчика для {message.kind} {message.name}")
        return "done"
    except LeaseLost:
        log.warning("inbox item %s: lease lost, left to its new owner", message.id)
        return "lost"
    except FatalHandlerError as exc:
        return inbox.record_failure(db, message.id, holder, str(exc), fatal=True)
    except Exception as exc:  # any handler failure is retried with backoff, then parked
        log.warning("inbox item %s (%s %s) failed: %s", message.id, message.kind, message.name,
                    type(exc).__name__)
        return inbox.record_failure(db, message.id, holder, f"{type(exc).__name__}: {exc}", fatal=False)


def lease_of(settings: Mapping[str, Any]) -> float:
    """How long a crashed worker's items wait before another worker takes them over (``worker.lease_s``)."""
    return float(settings.get("lease_s", LEASE_S))


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Register the in-process executor; with ``cluster.engine: celery`` the web processes publish
    to the broker instead (``b24app.engine.publisher``).

    ``settings`` is the ``worker`` section of app.yaml: ``poll_interval_s``, ``lease_s``.
    """
    app.extensions["b24app.worker"] = PollingWorker(
        app, poll_interval_s=float(settings.get("poll_interval_s", 0.5)), lease_s=lease_of(settings))
    if get_config(app).cluster.celery:
        from b24app.engine.publisher import Publisher

        app.extensions["b24app.executor"] = Publisher(app)


def get_executor(app: Flask) -> Executor:
    """Where intake hands a committed item: the broker (celery engine) or the in-process worker."""
    return app.extensions.get("b24app.executor") or app.extensions["b24app.worker"]


def embedded(app: Flask) -> PollingWorker:
    """Make the in-process worker the app's executor whatever ``cluster.engine`` says (``b24app run``)."""
    app.extensions.pop("b24app.executor", None)
    return get_worker(app)


def get_worker(app: Flask) -> PollingWorker:
    """The in-process worker (``b24app run``, ``b24app worker --engine embedded``)."""
    return app.extensions["b24app.worker"]
