"""Sync 1C:ZUP -> Bitrix24: legal entities, departments as extranet workgroups, employees as extranet users.

``run_sync(app, full=..., force=..., progress=...)`` is the entry point (CLI, scheduler, demo).
"""
from __future__ import annotations

from sync_jobs import schedule as _schedule  # noqa: F401  registers the scheduler jobs
from sync_jobs.run import SyncRunSummary, run_sync

__all__ = ["SyncRunSummary", "run_sync"]
