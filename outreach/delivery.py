"""Delivery statuses of the SMS that went out: asked of each gateway (SMSC.ru ``status.php``, SMS.ru
``/sms/status``, the webhook's ``GET <url>/<id>``) until the message is delivered or cannot be.

A message is asked about at most every ``POLL_EVERY`` and for ``WINDOW`` after it was sent; a gateway that
cannot answer now is asked again at the next run.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from b24app.db import Database
from outreach.errors import ChannelError
from outreach.gateways.base import DELIVERED, FINAL_STATES, Sms
from outreach.models import SENT, OutreachMessage
from outreach.outbox import Channels, Clock

log = logging.getLogger(__name__)

POLL_EVERY = timedelta(minutes=10)
WINDOW = timedelta(days=3)
BATCH = 200
UNDELIVERED = "undelivered"


def poll_deliveries(db: Database, portal: str, channels: Channels, clock: Clock) -> int:
    """Ask the portal's gateways about its sent SMS; returns how many reached a final state."""
    now = clock.now()
    with db.read_session() as session:
        rows = list(session.scalars(select(OutreachMessage).where(
            OutreachMessage.member_id == portal, OutreachMessage.channel == "sms", OutreachMessage.status == SENT,
            OutreachMessage.provider_id.is_not(None), OutreachMessage.sent_at >= now - WINDOW,
            OutreachMessage.updated_at <= now - POLL_EVERY).order_by(OutreachMessage.updated_at).limit(BATCH)))
    finished = 0
    for row in rows:
        gateway = channels.gateway(row.gateway)
        if gateway is None:
            continue
        try:
            delivery = gateway.delivery(Sms(row.id, row.address, row.body), str(row.provider_id))
        except ChannelError as exc:
            log.info("outreach: delivery of message %s not known yet: %s", row.id, exc.reason)
            continue
        final = delivery.state in FINAL_STATES
        with db.write_lock, db.session() as session:
            stored = session.get(OutreachMessage, row.id)
            if stored is None or stored.status != SENT:
                continue
            stored.updated_at = now
            if final:
                stored.status = "delivered" if delivery.state == DELIVERED else UNDELIVERED
                stored.error = None if delivery.state == DELIVERED else f"не доставлено: {delivery.detail}"
                stored.cost = delivery.cost if delivery.cost is not None else stored.cost
        finished += final
    return finished
