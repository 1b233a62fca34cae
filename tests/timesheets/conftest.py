"""Timesheet tests: the migrated database of the shared fixtures and an injected clock."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from b24app.db import Database


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
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
