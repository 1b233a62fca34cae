"""One sync at a time, across processes and machines (the scheduler's JobLock lease, shared name).

The lease is short and renewed while the run writes; a lease whose holder process died on this
machine (SIGKILL, OOM) is taken over at once instead of blocking reruns until it expires.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select

from b24app.db import Database
from b24app.models import JobLock
from b24app.scheduling import acquire_lock, release_lock
from sync_jobs.errors import SyncBusy

LOCK_NAME = "sync"
LEASE_S = 600.0
RENEW_EVERY_S = 60.0


def _holder() -> str:
    return f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


def _dead_local_holder(holder: str) -> bool:
    host, _, rest = holder.partition("|")
    pid = rest.partition("|")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _clear_dead_holder(db: Database) -> None:
    with db.session() as session:
        lock = session.scalar(select(JobLock).where(JobLock.name == LOCK_NAME))
        if lock is not None and _dead_local_holder(lock.holder):
            session.execute(delete(JobLock).where(JobLock.name == LOCK_NAME, JobLock.holder == lock.holder))


class Lease:
    """A held sync lock; ``renew()`` is cheap to call often (it writes at most once a minute)."""

    def __init__(self, db: Database, holder: str) -> None:
        self.db = db
        self.holder = holder
        self._renewed = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self._renewed >= RENEW_EVERY_S:
            acquire_lock(self.db, LOCK_NAME, self.holder, LEASE_S)
            self._renewed = time.monotonic()


@contextmanager
def sync_lock(db: Database) -> Iterator[Lease]:
    holder = _holder()
    _clear_dead_holder(db)
    if not acquire_lock(db, LOCK_NAME, holder, LEASE_S):
        raise SyncBusy("Синхронизация уже выполняется (другой процесс держит блокировку); дождитесь её окончания.")
    try:
        yield Lease(db, holder)
    finally:
        release_lock(db, LOCK_NAME, holder)
