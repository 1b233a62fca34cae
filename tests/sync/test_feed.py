"""Incremental runs read only 1C's changes (OData scans or the B24Sync feed) on top of the last run's
records, and end where a full read would."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from b24app.config import generate_token_key
from b24app.db import get_db
from sync_jobs import run_sync
from sync_jobs.models import SyncReplica
from tests.sync.conftest import Hooks
from tests.sync.portal_view import PortalView, write_calls

FEED_FAULTS = {"odata": {"set": "Catalog_ФизическиеЛица"}, "soap": {"set": "GetChanges"}}


def _requests(zup: Hooks, work: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """What ``work`` returned, and the 1C emulator's counters of the requests it made."""
    zup("POST", "counters/reset")
    result = work()
    return result, zup("GET", "counters")


@pytest.mark.parametrize("mode", ["odata", "soap"])
def test_incremental_run_reads_only_changes_and_ends_where_a_full_read_would(
        mode: str, make_app: Callable[..., Flask], portal: Hooks, zup: Hooks) -> None:
    app = make_app(onec_mode=mode)
    first, full_read = _requests(zup, lambda: run_sync(app, full=False))
    assert first.status == "ok" and not first.via_feed
    zup("POST", "mutate", {"percent": 5, "seed": 11})
    portal("POST", "counters/reset")
    incremental, changes_read = _requests(zup, lambda: run_sync(app, full=False))
    assert incremental.status == "ok" and incremental.via_feed, incremental.render()
    assert write_calls(portal("GET", "counters")) > 0 and sum(incremental.changed.values()) > 0
    if mode == "soap":  # the stored position acknowledged, then one package of changes
        assert changes_read["by_operation"] == {"Acknowledge": 1, "GetChanges": 1}
    else:  # key scans and the changed objects, not every page of every set
        assert changes_read["requests"] < full_read["requests"]
    portal("POST", "counters/reset")
    reconciliation = run_sync(app, full=True)
    assert reconciliation.status == "ok" and not reconciliation.via_feed
    assert write_calls(portal("GET", "counters")) == 0  # the changes gave the same portal as a full read
    assert reconciliation.changed == {name: 0 for name in reconciliation.changed}


@pytest.mark.parametrize("mode", ["odata", "soap"])
def test_1c_failing_during_the_changes_keeps_the_last_records(
        mode: str, make_app: Callable[..., Flask], portal: Hooks, zup: Hooks) -> None:
    app = make_app(onec_mode=mode)
    run_sync(app, full=False)
    stored = _replica(app)
    zup("POST", "mutate", {"percent": 5, "seed": 12})
    zup("POST", "faults", {"kind": "500", "rate": 1.0, **FEED_FAULTS[mode]})
    portal("POST", "counters/reset")
    failed = run_sync(app, full=False)
    assert failed.status == "failed" and "1С" in (failed.message or "")
    assert write_calls(portal("GET", "counters")) == 0 and _replica(app) == stored
    zup("DELETE", "faults")
    recovered = run_sync(app, full=False)
    assert recovered.status == "ok" and recovered.via_feed and recovered.write_commands > 0
    portal("POST", "counters/reset")
    assert run_sync(app, full=True).status == "ok" and write_calls(portal("GET", "counters")) == 0


def test_the_replica_holds_no_personal_data_in_clear(sync_app: Flask, portal: Hooks) -> None:
    run_sync(sync_app, full=False)
    users = PortalView.read(portal).zup_users().values()
    clear = [str(u[name]).encode() for u in users for name in ("LAST_NAME", "EMAIL") if u.get(name)]
    payloads = _replica(sync_app).values()
    assert clear and len(payloads) == 7
    assert not any(text in payload for text in clear for payload in payloads)


def _replica(app: Flask) -> dict[str, bytes]:
    with get_db(app).read_session() as session:
        return {row.stream: bytes(row.payload) for row in session.scalars(select(SyncReplica))}


def test_records_of_another_1c_are_not_reused(make_app: Callable[..., Flask], portal: Hooks) -> None:
    assert run_sync(make_app(onec_mode="odata"), full=False).status == "ok"
    soap_app = make_app(onec_mode="soap")
    switched = run_sync(soap_app, full=False)
    assert switched.status == "ok" and not switched.via_feed and switched.write_commands == 0
    assert run_sync(soap_app, full=False).via_feed


def test_records_the_token_keys_no_longer_open_mean_a_full_read(make_app: Callable[..., Flask]) -> None:
    assert run_sync(make_app(), full=False).status == "ok"
    rotated = run_sync(make_app(token_key=generate_token_key()), full=False)
    assert rotated.status == "ok" and not rotated.via_feed and rotated.write_commands == 0
