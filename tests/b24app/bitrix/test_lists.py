"""get_all: the ID window (user.get) and the fast-bitrix24 path (department.get) over HTTP."""
from __future__ import annotations

import pytest

from b24app.bitrix import B24Client, Command

from .conftest import MemoryTokens, Portal


def test_id_window_returns_every_row_once_in_id_order(portal: Portal, hook_client: B24Client) -> None:
    portal.seed_users(2600)  # + admin: more than one batch of 50 pages
    portal.hook("counters/reset")
    rows = hook_client.get_all("user.get", {"FILTER": {"ACTIVE": True}})
    ids = [int(row["ID"]) for row in rows]
    assert len(ids) == 2601 and ids == sorted(set(ids))
    assert portal.counters()["requests"] == 2  # 2,500 rows per request


def test_id_window_keeps_the_callers_filter(portal: Portal, hook_client: B24Client) -> None:
    portal.seed_users(120, prefix="a")
    portal.seed_users(30, prefix="b")
    rows = hook_client.get_all("user.get", {"filter": {"%EMAIL": "b"}})
    assert sorted(row["EMAIL"] for row in rows) == sorted(f"b{n}@example.org" for n in range(30))


def test_id_window_refuses_its_own_ordering_params(hook_client: B24Client) -> None:
    with pytest.raises(ValueError):
        hook_client.get_all("user.get", {"SORT": "NAME"})


def test_fast_bitrix24_path_over_oauth(portal: Portal, tokens: MemoryTokens, app_client: B24Client) -> None:
    adds = [Command("department.add", {"NAME": f"Отдел {n}", "PARENT": 1}) for n in range(130)]
    assert {outcome.status for outcome in app_client.run_commands(adds)} == {"ok"}
    portal.hook("tokens/expire", {})
    rows = app_client.get_all("department.get")
    assert len(rows) == 131 and tokens.refreshes == 1
    assert sorted(int(row["ID"]) for row in rows) == sorted({int(row["ID"]) for row in rows})
