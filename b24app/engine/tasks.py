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
from b24app.scheduling import run_locked
from b24app.tenancy import portal_scope
from b24app.worker import lease_of, process_message

log = logging.getLogger(__name__)

PROCESS_ITEMS = "b24app.process_items"
RUN_JOB = "b24app.run_job"


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


def run_job(app: Flask, name: str, member_id: str | None) -> bool:
    """Run the enabled job ``name`` for ``member_id`` (None: the app's only portal) under its lease."""
    job = next((job for job in get_features(app).scheduled_jobs if job.name == name), None)
    if job is None:
        log.warning("job %s is not enabled here; dropped", name)
        return False
    with portal_scope(member_id):
        return run_locked(app, job, member_id)


def register(celery: Celery) -> None:
    app: Flask = celery.flask_app  # type: ignore[attr-defined]

    @celery.task(name=PROCESS_ITEMS)
    def process_items(item_ids: list[int]) -> list[str]:
        return [run_item(app, item_id) for item_id in item_ids]

    @celery.task(name=RUN_JOB)
    def run_job_task(name: str, member_id: str | None = None) -> bool:
        return run_job(app, name, member_id)
