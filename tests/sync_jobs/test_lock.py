"""The sync lock: one run at a time; a run whose lease was taken over stops instead of writing on."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from b24app.db import get_db
from sync_jobs import lock as sync_lock_module
from sync_jobs.errors import SyncBusy, SyncFatal
from sync_jobs.lock import sync_lock


def test_second_run_is_busy_and_a_taken_over_lease_stops_the_first(app: Flask, monkeypatch) -> None:
    db = get_db(app)
    monkeypatch.setattr(sync_lock_module, "RENEW_EVERY_S", 0.05)
    with sync_lock(db, "") as lease:
        with pytest.raises(SyncBusy):
            with sync_lock(db, ""):
                pass
        with sync_lock(db, "a" * 32):  # another portal's sync runs beside it
            pass
        lease.renew()  # still ours
        with db.engine.begin() as conn:  # another machine took the lock over after our lease expired
            conn.execute(sa.text("UPDATE job_locks SET holder = 'other-host|1|x', "
                                 "expires_at = '2999-01-01 00:00:00' WHERE name = 'sync'"))
        lease.lost.wait(5)
        with pytest.raises(SyncFatal):
            lease.renew()
