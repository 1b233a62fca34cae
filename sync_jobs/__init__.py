"""Sync 1C:ZUP -> Bitrix24: legal entities, departments as extranet workgroups, employees as extranet users.

``run_sync(app, full=..., force=..., progress=...)`` runs it (CLI, scheduler, demo); other features
read who is who through ``sync_jobs.directory``.
"""
from __future__ import annotations

from pathlib import Path

from b24app.features import ConfigSection, Feature
from sync_jobs import cli, schedule
from sync_jobs.run import SyncRunSummary, run_sync
from sync_jobs.settings import load_settings

FEATURE = Feature(
    name="sync_jobs", title="Синхронизация 1С:ЗУП → Битрикс24", requires=("onec",),
    models=("sync_jobs.models",), migrations=Path(__file__).parent / "migrations",
    config_section=ConfigSection("sync", load_settings),
    scheduled_jobs=schedule.JOBS, cli=(cli.group,),
)

__all__ = ["FEATURE", "SyncRunSummary", "run_sync"]
