"""Outreach: reach every employee (e-mail, SMS) and keep approvals moving (docs/outreach.md).

Channels (mail, gateways), templates, the planner of who needs reaching, the rules, the outbox
sender, the portal's SMS provider (``provider``), delivery statuses, and approvals that keep moving
(``approvals``, ``request_watch``, ``absences``, ``notices``, ``calendar``). Reads who is who only through
``sync_jobs.directory``.
"""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from b24app.features import ConfigSection, Feature
from b24app.scheduling import ScheduledJob
from bizproc_templates.approvers import SUBSTITUTES
from outreach import cli, provider
from outreach.absences import AbsenceSubstitutes
from outreach.jobs import approvals_job, send_job
from outreach.settings import load_settings


def init_app(app: Flask) -> None:
    """Absent approvers are replaced by their substitutes when a process assigns approvers."""
    app.extensions[SUBSTITUTES] = AbsenceSubstitutes(app)


FEATURE = Feature(
    name="outreach", title="Сообщения сотрудникам (e-mail, SMS) и согласования", requires=("sync_jobs",),
    models=("outreach.models",), migrations=Path(__file__).parent / "migrations",
    config_section=ConfigSection("outreach", load_settings),
    inbox_handlers=provider.HANDLERS, install_steps=(provider.register_provider,),
    scheduled_jobs=(ScheduledJob("outreach_send", "*/5 * * * *", send_job, needs_section="outreach"),
                    ScheduledJob("outreach_approvals", "*/10 * * * *", approvals_job, needs_section="outreach")),
    cli=(cli.group,), init_app=init_app,
)

__all__ = ["FEATURE"]
