"""Timesheet tests: the core schema plus the timesheets revisions, and an injected clock."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig

import b24app.db
import timesheets
from b24app.db import Database

CORE_MIGRATIONS = Path(b24app.db.__file__).parent / "migrations"
TIMESHEET_MIGRATIONS = Path(timesheets.__file__).parent / "migrations"


def upgrade_with_timesheets(url: str) -> None:
    """Until the Feature API brings feature migrations: the core's and ours, upgraded to every head."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(CORE_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", f"{CORE_MIGRATIONS / 'versions'}:{TIMESHEET_MIGRATIONS}")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "heads")


@pytest.fixture
def ts_database_url(database_url: str) -> str:
    upgrade_with_timesheets(database_url)
    return database_url


@pytest.fixture
def db(ts_database_url: str) -> Iterator[Database]:
    database = Database(ts_database_url)
    yield database
    database.dispose()


class FixedClock:
    """A clock tests move by hand; starts on the last day of a year, late in the evening (UTC)."""

    def __init__(self, now: dt.datetime = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone.utc)) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()
