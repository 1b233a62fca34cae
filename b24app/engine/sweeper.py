"""The sweeper: publish again every accepted call whose task is not on the broker.

Run by the scheduler every ``cluster.sweep_interval_s`` under a lease (one sweeper at a time,
however many schedulers). It finds inbox rows accepted more than ``cluster.republish_after_s`` ago
and never confirmed by the broker (a web process died after the commit, the broker was down),
retries now due, and items whose worker died with the lease; and it asks the workers to consume
every portal that has calls waiting. A task published twice is harmless (``b24app.engine.tasks``).
"""
from __future__ import annotations

import logging

from flask import Flask

from b24app import inbox
from b24app.db import get_db
from b24app.engine.publisher import consume_portals, publish
from b24app.portal import get_config, get_store

log = logging.getLogger(__name__)

LOST_AFTER_S = 3600.0  # a confirmed task still not run after an hour is published again


def sweep(app: Flask) -> int:
    """Publish what is missing from the broker; return how many tasks were published."""
    settings = get_config(app).cluster
    db = get_db(app)
    paused = get_store(app).paused()
    waiting = {member_id for member_id, status, _ in inbox.depth_by_portal(db)
               if status != "failed" and member_id not in paused}
    if waiting:
        consume_portals(app, waiting)
    missing = inbox.unpublished(db, older_than_s=settings.republish_after_s, lost_after_s=LOST_AFTER_S,
                                paused=paused)
    if missing:
        inbox.mark_enqueued(db, publish(app, missing))
        log.info("sweeper published %d inbox items again", len(missing))
    return len(missing)
