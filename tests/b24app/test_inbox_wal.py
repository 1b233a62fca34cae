"""SQLite's write-ahead log stays bounded while the intake writes: the inbox connection does not
checkpoint inside its commits (under the write lock), the group commit does it outside every
``CHECKPOINT_ROWS`` rows. Always on SQLite, the embedded database, whatever the suite runs on."""
from __future__ import annotations

import os
from pathlib import Path

from b24app import inbox
from b24app.db import Database
from service import upgrade_schema


def _accept(db: Database, numbers: range) -> None:
    for n in numbers:
        inbox.accept(db, member_id="m" * 32, kind="event", name="ONTEST", dedupe_key=f"k{n}",
                     payload={"n": n, "text": "x" * 400})


def test_the_write_ahead_log_is_checkpointed_outside_the_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade_schema(url)
    db = Database(url)
    wal = tmp_path / "app.db-wal"
    try:
        _accept(db, range(inbox.CHECKPOINT_ROWS - 1))  # no checkpoint yet: the log holds every row
        before = os.path.getsize(wal)
        _accept(db, range(inbox.CHECKPOINT_ROWS, 9 * inbox.CHECKPOINT_ROWS))  # 8 times as many rows
        assert os.path.getsize(wal) < 2 * before  # the log was reused after each checkpoint, not grown
    finally:
        db.dispose()
