"""Outreach inside the app: settings, channels, the sender, and the plan — what the CLI and jobs call."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import Flask

from b24app.db import get_db
from b24app.portal import get_config, portal_key
from outreach.campaign import Held, apply_opt_outs, bounced_addresses, compose, load_history, opted_out_addresses
from outreach.gateways import build_gateway
from outreach.mail import SmtpChannel
from outreach.outbox import Channels, Clock, Draft, Sender, enqueue
from outreach.planner import Target, plan
from outreach.settings import OutreachSettings
from outreach.sources import sources_of


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def settings_of(app: Flask) -> OutreachSettings:
    return get_config(app).settings("outreach")


def clock_of(app: Flask) -> Clock:
    return app.extensions.get("outreach.clock") or SystemClock()


def today(app: Flask) -> date:
    """The date now where the approvers work (``outreach.approvals.time_zone``)."""
    return clock_of(app).now().astimezone(ZoneInfo(settings_of(app).approvals.time_zone)).date()


def build_channels(settings: OutreachSettings) -> Channels:
    caps: dict[str, int | None] = {g.name: g.daily_cap for g in settings.gateways}
    caps["smtp"] = settings.email_daily_cap
    return Channels(email=SmtpChannel(settings.email) if settings.email else None,
                    gateways=[build_gateway(g) for g in settings.gateways], caps=caps,
                    rates={g.name: g.rate_per_s for g in settings.gateways})


def sender_of(app: Flask) -> Sender:
    settings = settings_of(app)
    return Sender(get_db(app), settings, build_channels(settings), clock_of(app), portal=portal_key(app))


@dataclass(frozen=True)
class Proposal:
    """What a send would do now: the targets, the drafts that would go out, those held back."""

    targets: list[Target]
    drafts: list[Draft]
    held: list[Held]


def propose(app: Flask) -> Proposal:
    db, settings, sources, portal = get_db(app), settings_of(app), sources_of(app), portal_key(app)
    targets = plan(sources.employees(), sources.accounts(), bounced_addresses(db, portal))
    history = load_history(db, portal)
    apply_opt_outs(history, targets, opted_out_addresses(db, portal))
    drafts, held = compose(targets, settings, history, clock_of(app).now(), portal)
    return Proposal(targets, drafts, held)


def send(app: Flask, proposal: Proposal) -> int:
    """Write the drafts into the outbox and send what is due; returns the rows handled."""
    enqueue(get_db(app), proposal.drafts, clock_of(app).now())
    return sender_of(app).run_until_idle()

