"""Dates the portal writes into list fields, as the cabinet's pages show them (pure)."""
from __future__ import annotations

import pytest

from cabinet.regulations import iso_date


@pytest.mark.parametrize("written,shown", [
    ("2027-01-31", "2027-01-31"), ("2026-12-04T16:02:11+03:00", "2026-12-04"), ("04.12.2026 16:02:11", "2026-12-04"),
    ("31.01.2027", "2027-01-31"), ("", None), (None, None), ("не дата", None), ("31.02.2027", None)])
def test_portal_dates_become_calendar_dates(written: str | None, shown: str | None) -> None:
    assert iso_date(written) == shown
