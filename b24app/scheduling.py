"""The scheduler process: APScheduler with cron triggers from app.yaml and a lock per job.

A job never overlaps itself, also with two schedulers on two machines: each run takes a
:class:`~b24app.models.JobLock` lease in the database first and skips when another holds it.
Features declare their :class:`ScheduledJob` objects (``Feature.scheduled_jobs``);
``schedules.<name>`` in app.yaml overrides the cron expression (``off`` disables the job).
"""
from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from b24app.db import Database, get_db
from b24app.features import get_features
from b24app.models import JobLock, utcnow
from b24app.portal import get_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledJob:
    """``func(app)`` run on ``default_cron`` (or ``schedules.<name>``), at most one run at a time."""

    name: str
    default_cron: str
    func: Callable[[Flask], None]
    lease_s: float = 6 * 3600


def acquire_lock(db: Database, name: str, holder: str, lease_s: float) -> bool:
    """Take the named lease unless a live holder has it."""
    now = utcnow()
    try:
        with db.session() as session:
            lock = session.scalar(select(JobLock).where(JobLock.name == name))
            if lock is None:
                session.add(JobLock(name=name, holder=holder, expires_at=now + timedelta(seconds=lease_s)))
                return True
            if lock.expires_at > now and lock.holder != holder:
                return False
            lock.holder = holder
            lock.expires_at = now + timedelta(seconds=lease_s)
            return True
    except IntegrityError:  # another process inserted the lock row first: it holds the lock
        return False


def release_lock(db: Database, name: str, holder: str) -> None:
    with db.session() as session:
        session.execute(delete(JobLock).where(JobLock.name == name, JobLock.holder == holder))


def run_locked(app: Flask, job: ScheduledJob) -> bool:
    """Run ``job`` if no one else is running it; False when skipped."""
    db = get_db(app)
    holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if not acquire_lock(db, job.name, holder, job.lease_s):
        log.info("job %s is running elsewhere; skipped", job.name)
        return False
    try:
        with app.app_context():
            job.func(app)
        return True
    finally:
        release_lock(db, job.name, holder)


def cron_of(app: Flask, job: ScheduledJob) -> str:
    return str(get_config(app).section("schedules").get(job.name, job.default_cron))


def build_scheduler(app: Flask, *, blocking: bool) -> BaseScheduler:
    """A scheduler with every enabled feature's job whose schedule is not ``off``."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for job in get_features(app).scheduled_jobs:
        cron = cron_of(app, job)
        if cron.strip().lower() == "off":
            continue
        scheduler.add_job(run_locked, CronTrigger.from_crontab(cron), args=(app, job), id=job.name,
                          coalesce=True, max_instances=1, misfire_grace_time=300)
    return scheduler
