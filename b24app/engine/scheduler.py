"""``b24app scheduler`` under the celery engine: fire each job once across replicas, and sweep.

Every replica runs the same cron triggers (``b24app.scheduling.build_scheduler``); at each fire
time the one that wins ``claim_fire`` publishes ``run_job(name, member_id)`` to the jobs queue
(the publish happens inside the winning transaction: if the broker refuses, the stamp is not taken
and another replica fires). The sweeper runs every ``cluster.sweep_interval_s`` under its lease.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from b24app.db import get_db
from b24app.engine.celery_app import get_celery
from b24app.engine.queues import EXCHANGE, JOBS
from b24app.engine.sweeper import sweep
from b24app.engine.tasks import RUN_JOB
from b24app.models import utcnow
from b24app.portal import get_config
from b24app.scheduling import ScheduledJob, acquire_lock, build_scheduler, claim_fire, lock_name, release_lock

log = logging.getLogger(__name__)

SWEEPER = "sweeper"


def fire_stamp() -> str:
    """The minute being fired (cron's granularity), the same on every replica."""
    return utcnow().replace(second=0, microsecond=0).isoformat()


def fire(app: Flask, job: ScheduledJob, member_id: str | None) -> bool:
    """Publish ``run_job`` for this fire time unless another replica already did."""
    celery = get_celery(app)

    def publish() -> None:
        celery.send_task(RUN_JOB, args=(job.name, member_id), queue=JOBS, exchange=EXCHANGE,
                         routing_key=JOBS.routing_key, retry=False)

    grace = get_config(app).cluster.job_grace_s
    fired = claim_fire(get_db(app), "fire:" + lock_name(job, member_id), fire_stamp(), grace, publish)
    log.info("job %s: %s", lock_name(job, member_id), "fired" if fired else "fired by another replica")
    return fired


def sweep_locked(app: Flask, holder: str) -> None:
    interval = get_config(app).cluster.sweep_interval_s
    db = get_db(app)
    if not acquire_lock(db, SWEEPER, holder, interval * 3):
        return
    try:
        sweep(app)
    except Exception as error:  # the broker or the database is down: the next sweep tries again
        log.warning("sweep failed: %s", type(error).__name__)
    finally:
        release_lock(db, SWEEPER, holder)


def build(app: Flask, *, blocking: bool, holder: str) -> BaseScheduler:
    """The cron triggers firing to the broker, and the sweeper."""
    scheduler = build_scheduler(app, blocking=blocking, fire=fire)
    interval = get_config(app).cluster.sweep_interval_s
    scheduler.add_job(sweep_locked, IntervalTrigger(seconds=interval), args=(app, holder), id=SWEEPER,
                      coalesce=True, max_instances=1, next_run_time=utcnow() + timedelta(seconds=1))
    return scheduler
