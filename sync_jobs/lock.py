"""One sync of a portal at a time, across processes and machines (the scheduler's JobLock lease named
``sync`` — ``sync@<member_id>`` in app mode: two portals sync side by side).

A heartbeat thread renews the lease every minute for as long as the run holds it — also while the
run reads 1C or waits for Bitrix24's limits. If the lease is ever found taken over, the run stops
at its next step (``Lease.renew`` raises) rather than write beside another run. A lease whose
holder process died on this machine (SIGKILL, OOM) is taken over at once.
"""
from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import delete, select

from b24app.db import Database
from b24app.models import JobLock
from b24app.scheduling import acquire_lock, release_lock
from sync_jobs.errors import SyncBusy, SyncFatal

LEASE_S = 600.0
RENEW_EVERY_S = 60.0


def lock_name(portal: str) -> str:
    """The lease of the portal's sync (``sync`` alone for the webhook's portal, as before)."""
    return f"sync@{portal}" if portal else "sync"


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


def _clear_dead_holder(db: Database, name: str) -> None:
    with db.session() as session:
        lock = session.scalar(select(JobLock).where(JobLock.name == name))
        if lock is not None and _dead_local_holder(lock.holder):
            session.execute(delete(JobLock).where(JobLock.name == name, JobLock.holder == lock.holder))


class Lease:
    """A held sync lock kept alive by a heartbeat; ``renew()`` raises once it was lost."""

    def __init__(self, db: Database, name: str, holder: str) -> None:
        self.db = db
        self.name = name
        self.holder = holder
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="sync-lease", daemon=True)
        self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(RENEW_EVERY_S):
            if not acquire_lock(self.db, self.name, self.holder, LEASE_S):
                self.lost.set()
                return

    def renew(self) -> None:
        """Called between steps: stop if another run holds the lock now."""
        if self.lost.is_set():
            raise SyncFatal("блокировка синхронизации перехвачена другим процессом; запуск остановлен")

    def close(self) -> None:
        self._stop.set()
        self._heartbeat.join(5)


@contextmanager
def sync_lock(db: Database, portal: str) -> Iterator[Lease]:
    """Hold the portal's sync lease for the block; SyncBusy when another run of that portal holds it."""
    name, holder = lock_name(portal), _holder()
    _clear_dead_holder(db, name)
    if not acquire_lock(db, name, holder, LEASE_S):
        raise SyncBusy("Синхронизация уже выполняется (другой процесс держит блокировку); дождитесь её окончания.")
    lease = Lease(db, name, holder)
    try:
        yield lease
    finally:
        lease.close()
        release_lock(db, name, holder)
