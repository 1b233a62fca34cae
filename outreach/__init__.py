"""Outreach: reach every employee (e-mail, SMS) and keep approvals moving (docs/outreach.md).

Channels (mail, gateways), templates, the planner of who needs reaching, the rules, the outbox
sender, the portal's SMS provider and approval reminders. Reads who is who only through
``sync_jobs.directory``.
"""
from __future__ import annotations

from pathlib import Path

from b24app.features import ConfigSection, Feature
from b24app.scheduling import ScheduledJob
from outreach import cli
from outreach.service import send_job
from outreach.settings import load_settings

FEATURE = Feature(
    name="outreach", title="Сообщения сотрудникам (e-mail, SMS)", requires=("sync_jobs",),
    models=("outreach.models",), migrations=Path(__file__).parent / "migrations",
    config_section=ConfigSection("outreach", load_settings),
    scheduled_jobs=(ScheduledJob("outreach_send", "*/5 * * * *", send_job, needs_section="outreach"),),
    cli=(cli.group,),
)

__all__ = ["FEATURE"]
