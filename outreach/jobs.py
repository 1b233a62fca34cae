"""The scheduled work of outreach: the outbox (sends, delivery statuses, statuses back to the portal) and the
approvals watch (request statuses, approval tasks). Each job serves the portal in scope (the scheduler runs it
once per portal app.yaml names); with no portal in scope, every installed portal in turn, each in its own
scope (``b24app.portal.portals_in_turn``), or the webhook's."""
from __future__ import annotations

import logging

from flask import Flask

from b24app.bitrix.errors import B24Error
from b24app.db import get_db
from b24app.features import get_features
from b24app.portal import client_for, get_config, get_store, portals_in_turn
from b24app.tenancy import portal_scope
from outreach.approvals import ApprovalWatcher
from outreach.delivery import poll_deliveries
from outreach.notices import deliver, post
from outreach.provider import report_to_portal
from outreach.request_watch import RequestWatcher
from outreach.service import clock_of, sender_of

log = logging.getLogger(__name__)


def send_job(app: Flask) -> None:
    """Send what is due, resolve interrupted sends, ask the gateways about deliveries, tell the portal."""
    for member_id in portals_in_turn(app):
        with portal_scope(member_id or None):
            sender = sender_of(app)
            sender.run_until_idle()
            poll_deliveries(get_db(app), sender.portal, sender.channels, clock_of(app))
            report_to_portal(app)


def approvals_job(app: Flask) -> int:
    """Notices of request statuses and approval tasks; returns how many went out."""
    if get_config(app).mode != "app" or "bizproc_templates" not in get_features(app).names:
        return 0
    sent = 0
    for member_id in portals_in_turn(app):
        with portal_scope(member_id):
            sent += _watch_approvals(app, member_id)
    return sent


def _watch_approvals(app: Flask, member_id: str) -> int:
    installation = get_store(app).find(member_id=member_id)
    if installation is None or installation.status != "installed":
        return 0
    try:
        with client_for(app, member_id) as client:
            notices = RequestWatcher(app, installation, client).run()
            notices += ApprovalWatcher(app, installation, client).run()
            now = clock_of(app).now()
            post(get_db(app), member_id, notices, now)
            return deliver(get_db(app), client, member_id, now)
    except B24Error as exc:
        log.warning("outreach: approvals of portal %s not watched now: %s", installation.domain, type(exc).__name__)
        return 0
