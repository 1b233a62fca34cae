"""The scheduler process: APScheduler with cron triggers from app.yaml and a lock per job.

A job never overlaps itself, also with two schedulers on two machines: each run takes a
:class:`~b24app.models.JobLock` lease in the database first and skips when another holds it.
Features declare their :class:`ScheduledJob` objects (``Feature.scheduled_jobs``);
``schedules.<name>`` in app.yaml overrides the cron expression (``off`` disables the job).

Many portals: when app.yaml names ``portals:``, every job runs once per named portal (not paused),
in that portal's scope (``b24app.tenancy``), on that portal's own ``schedules:`` if it has one.

The celery engine: the scheduler only *fires* jobs. Any number of scheduler replicas may run; at
each fire time exactly one of them wins the fire row of (job, portal) — a compare-and-set of the
fire time on a :class:`JobLock` row named ``fire:<job>@<portal>`` — and publishes ``run_job``; a
worker runs it under the job's lease. The scheduler also runs the sweeper (``b24app.engine.sweeper``).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from b24app.db import Database, get_db
from b24app.features import get_features
from b24app.models import JobLock, utcnow
from b24app.portal import get_config, get_store
from b24app.tenancy import portal_scope

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduledJob:
    """``func(app)`` run on ``default_cron`` (or ``schedules.<name>``), at most one run at a time.

    ``needs_section``: with ``portals:`` in app.yaml, the job runs only for the portals that name this
    section of their own (the sync runs for the portals that have a ``sync:``).
    """

    name: str
    default_cron: str
    func: Callable[[Flask], None]
    lease_s: float | None = None  # renewed while the job runs: a dead holder blocks it this long
                                  # (None: ``cluster.job_lease_s``, 60 s by default)
    needs_section: str | None = None


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


def lock_name(job: ScheduledJob, member_id: str | None) -> str:
    return job.name if member_id is None else f"{job.name}@{member_id}"


def run_locked(app: Flask, job: ScheduledJob, member_id: str | None = None) -> bool:
    """Run ``job`` (for ``member_id``, in its scope) if no one else is running it and the portal is not
    paused; False when skipped."""
    db = get_db(app)
    if _paused(app, member_id):
        log.info("job %s: portal paused; skipped", job.name)
        return False
    holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    name = lock_name(job, member_id)
    lease_s = job.lease_s or get_config(app).cluster.job_lease_s
    if not acquire_lock(db, name, holder, lease_s):
        log.info("job %s is running elsewhere; skipped", name)
        return False
    stop = threading.Event()
    heartbeat = threading.Thread(target=_renew, args=(db, name, holder, lease_s, stop), daemon=True)
    heartbeat.start()
    try:
        with app.app_context(), portal_scope(member_id):
            job.func(app)
        return True
    finally:
        stop.set()
        heartbeat.join()
        release_lock(db, name, holder)


def _renew(db: Database, name: str, holder: str, lease_s: float, stop: threading.Event) -> None:
    """Keep the job's lease while it runs (a third of the lease apart)."""
    while not stop.wait(lease_s / 3):
        try:
            acquire_lock(db, name, holder, lease_s)
        except Exception as error:  # the database is briefly unreachable: the next beat tries again
            log.warning("job %s: lease not renewed (%s)", name, type(error).__name__)


def lock_expires_in(db: Database, name: str) -> float:
    """Seconds until the named lease runs out (0 when nobody holds it)."""
    with db.read_session() as session:
        expires = session.scalar(select(JobLock.expires_at).where(JobLock.name == name))
    return 0.0 if expires is None else max(0.0, (expires - utcnow()).total_seconds())


def _paused(app: Flask, member_id: str | None) -> bool:
    """Is the job's portal paused (for a job without a portal: is every installed portal paused)?"""
    paused = get_store(app).paused()
    if not paused:
        return False
    if member_id is not None:
        return member_id in paused
    installed = {i.member_id for i in get_store(app).all() if i.status == "installed"}
    return bool(installed) and installed <= paused


def claim_fire(db: Database, name: str, stamp: str, lease_s: float, then: Callable[[], object]) -> bool:
    """Fire ``name`` at ``stamp`` (ISO time) unless another replica did: ``then()`` runs inside the
    transaction that moves the row's stamp forward, so a failed ``then`` (the broker down) leaves the
    stamp to the next replica; exactly one replica fires each stamp."""
    expires = utcnow() + timedelta(seconds=lease_s)
    try:
        with db.session() as session:
            won = session.execute(update(JobLock).where(JobLock.name == name, JobLock.holder < stamp)
                                  .values(holder=stamp, expires_at=expires)).rowcount == 1
            if not won:
                if session.scalar(select(JobLock.name).where(JobLock.name == name)) is not None:
                    return False
                session.add(JobLock(name=name, holder=stamp, expires_at=expires))
                session.flush()
            then()
        return True
    except IntegrityError:  # another replica inserted the row for this very stamp
        return False


def cron_of(app: Flask, job: ScheduledJob) -> str:
    """The job's cron in the current portal's scope: its own ``schedules:``, else the top-level one."""
    return str(get_config(app).section("schedules").get(job.name, job.default_cron))


def portal_targets(app: Flask, job: ScheduledJob) -> list[str | None]:
    """Whom ``job`` runs for: each portal app.yaml names (that has the job's section, if it needs one),
    or once for the app's only portal."""
    portals = get_config(app).portals
    if not portals:
        return [None]
    return [member_id for member_id, own in portals.items()
            if job.needs_section is None or job.needs_section in own.sections]


Fire = Callable[[Flask, ScheduledJob, "str | None"], object]


def build_scheduler(app: Flask, *, blocking: bool, fire: Fire = run_locked) -> BaseScheduler:
    """A scheduler with every enabled feature's job (per portal) whose schedule is not ``off``;
    ``fire(app, job, member_id)`` runs it here (embedded) or publishes it (celery engine)."""
    scheduler: BaseScheduler = BlockingScheduler() if blocking else BackgroundScheduler(daemon=True)
    for job in get_features(app).scheduled_jobs:
        for member_id in portal_targets(app, job):
            with portal_scope(member_id):
                cron = cron_of(app, job)
            if cron.strip().lower() == "off":
                continue
            scheduler.add_job(fire, CronTrigger.from_crontab(cron), args=(app, job, member_id),
                              id=lock_name(job, member_id), coalesce=True, max_instances=1, misfire_grace_time=300)
    return scheduler
