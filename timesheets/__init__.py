"""Timesheets approved by the client and the provider (issue 12).

Modules: ``codes`` (the T-13 list and typed day marks), ``calendar`` (the Russian production
calendar), ``schedules`` and ``prefill`` (a month from the schedule, the calendar and approved
absences), ``models`` and ``sheets`` (timesheets, cells, statuses, the audit trail), ``approval``
(the Bitrix24 business process both sides approve in), ``notices`` (im.notify outbox), ``rates``,
``summaries`` and ``exports`` (T-13, the invoice basis), ``roster`` (who gets a timesheet, from 1C
and the directory), ``jobs`` and ``cli``.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from b24app.features import ConfigSection, Feature
from b24app.scheduling import ScheduledJob
from timesheets import api, cli, jobs
from timesheets.settings import load_settings
from timesheets.sheets import utc_now


def _init_app(app: Flask) -> None:
    app.extensions.setdefault(jobs.CLOCK_KEY, utc_now)


FEATURE = Feature(
    name="timesheets", title="Табели", requires=("onec", "sync_jobs", "bizproc_templates"),
    models=("timesheets.models",), migrations=Path(__file__).parent / "migrations",
    config_section=ConfigSection("timesheets", load_settings),
    scheduled_jobs=(ScheduledJob("timesheets_approvals", "*/5 * * * *", jobs.approval_cycle, lease_s=3600),
                    ScheduledJob("timesheets_reminders", "0 9 * * *", jobs.reminders, lease_s=3600)),
    blueprints=(api.bp,), cli=(cli.group,), init_app=_init_app, health=jobs.health,
)
