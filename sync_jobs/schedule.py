"""Scheduler jobs: incremental every 15 minutes, full reconciliation nightly (``schedules:`` overrides)."""
from __future__ import annotations

import logging

from flask import Flask

from b24app.scheduling import ScheduledJob
from sync_jobs.errors import SyncBusy
from sync_jobs.run import run_sync

log = logging.getLogger(__name__)


def _run(app: Flask, *, full: bool) -> None:
    try:
        summary = run_sync(app, full=full)
    except SyncBusy as busy:
        log.info("sync skipped: %s", busy)
        return
    log.info("%s", summary.render())


def sync_incremental(app: Flask) -> None:
    _run(app, full=False)


def sync_full(app: Flask) -> None:
    _run(app, full=True)


JOBS = (ScheduledJob("sync_incremental", "*/15 * * * *", sync_incremental, needs_section="sync"),
        ScheduledJob("sync_full", "30 2 * * *", sync_full, needs_section="sync"))
