"""The tasks: ``process_items(item_ids)`` and ``run_job(name, member_id)``; both idempotent by design.

A task carries only ids: those of one portal's items that were published together (one under
light load, up to ``publisher.PER_MESSAGE`` in a burst: the broker's work per call shrinks as the
load grows). Each item is leased first (``inbox.claim_item``): a task delivered twice, or
published again by the sweeper, finds its items done or leased and does nothing for them; the handler's writes commit in the transaction that marks the item done, only while the
lease is still this task's. ``run_job`` runs a scheduled job under its database lease, so a job
never overlaps itself whatever the broker delivers.
"""
from __future__ import annotations

import logging
import os
import socket
import uuid

from celery import Celery
from flask import Flask

from b24app import inbox
from b24app.db import get_db
from b24app.features import get_features
from b24app.portal import get_config, get_store
from b24app.scheduling import lock_expires_in, lock_name, run_locked
from b24app.tenancy import portal_scope
from b24app.worker import lease_of, process_message

log = logging.getLogger(__name__)

PROCESS_ITEMS = "b24app.process_items"
RUN_JOB = "b24app.run_job"
JOB_RETRIES = 3


def holder() -> str:
    return f"celery-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def run_item(app: Flask, item_id: int) -> str:
    """Lease and process one inbox item; "skipped" when it is not this task's to run."""
    owner = holder()
    message = inbox.claim_item(get_db(app), item_id, holder=owner, lease_s=lease_of(get_config(app).section("worker")),
                               paused=get_store(app).paused())
    if message is None:
        return "skipped"
    return process_message(app, message, owner)


class JobHeld(Exception):
    """The job's lease is held: by a run in progress, or by a worker that died with it."""

    def __init__(self, expires_in: float) -> None:
        super().__init__(f"lease held for {expires_in:.1f} s more")
        self.expires_in = expires_in


def run_job(app: Flask, name: str, member_id: str | None) -> bool:
    """Run the enabled job ``name`` for ``member_id`` (None: the app's only portal) under its lease;
    JobHeld when its lease is held (the task tries again once the lease would have run out)."""
    job = next((job for job in get_features(app).scheduled_jobs if job.name == name), None)
    if job is None:
        log.warning("job %s is not enabled here; dropped", name)
        return False
    with portal_scope(member_id):
        if run_locked(app, job, member_id):
            return True
    held = lock_expires_in(get_db(app), lock_name(job, member_id))
    if held:
        raise JobHeld(held)
    return False


def register(celery: Celery) -> None:
    app: Flask = celery.flask_app  # type: ignore[attr-defined]

    @celery.task(name=PROCESS_ITEMS, shared=False)
    def process_items(item_ids: list[int]) -> list[str]:
        return [run_item(app, item_id) for item_id in item_ids]

    @celery.task(name=RUN_JOB, bind=True, max_retries=JOB_RETRIES, shared=False)
    def run_job_task(self, name: str, member_id: str | None = None) -> bool:  # type: ignore[no-untyped-def]
        try:
            return run_job(app, name, member_id)
        except JobHeld as held:
            # a live run renews its lease and this gives up after JOB_RETRIES; a dead one's lease runs out
            raise self.retry(countdown=held.expires_in + 1) from None
