"""Incremental runs from a 1C with a change feed (B24Sync) read only the feed, applied to the last run's
records, and end where a full read would; over OData the changes are found by scans of versions and row
hashes and the changed objects fetched by key."""
from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from b24app.config import generate_token_key
from b24app.db import get_db
from sync_jobs import run_sync
from sync_jobs.run import preview
from sync_jobs.models import SyncReplica
from tests.sync_jobs.conftest import GENERATE, SEED, Hooks
from tests.sync_jobs.portal_view import PortalView, write_calls

def _requests(zup: Hooks, work: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    """What ``work`` returned, and the 1C emulator's counters of the requests it made."""
    zup("POST", "counters/reset")
    result = work()
    return result, zup("GET", "counters")


@pytest.mark.parametrize("part_rows", [None, 7])
def test_incremental_run_reads_only_the_feed_and_ends_where_a_full_read_would(
        make_app: Callable[..., Flask], portal: Hooks, zup: Hooks, monkeypatch: pytest.MonkeyPatch,
        part_rows: int | None) -> None:
    """(``part_rows``: the replica stored in rows of 7 records, each stream in several parts.)"""
    if part_rows is not None:
        monkeypatch.setattr("sync_jobs.replica.PART_ROWS", part_rows)
    app = make_app(onec_mode="soap")
    first = run_sync(app, full=False)
    assert first.status == "ok" and not first.via_feed
    assert (len(_replica(app)) > 10) == (part_rows is not None)  # streams (in parts), feed, basis
    zup("POST", "mutate", {"percent": 5, "seed": 11})
    portal("POST", "counters/reset")
    incremental, changes_read = _requests(zup, lambda: run_sync(app, full=False))
    assert incremental.status == "ok" and incremental.via_feed, incremental.render()
    assert write_calls(portal("GET", "counters")) > 0 and sum(incremental.changed.values()) > 0
    assert changes_read["by_operation"] == {"Acknowledge": 1, "GetChanges": 1}  # the stored position, one package
    portal("POST", "counters/reset")
    reconciliation = run_sync(app, full=True)
    assert reconciliation.status == "ok" and not reconciliation.via_feed
    assert write_calls(portal("GET", "counters")) == 0  # the feed gave the same portal as a full read
    assert reconciliation.changed == {name: 0 for name in reconciliation.changed}


@pytest.mark.parametrize("part_bytes", [None, 256])
def test_over_odata_an_incremental_run_reads_the_changes_and_ends_where_a_full_read_would(
        sync_app: Flask, portal: Hooks, zup: Hooks, monkeypatch: pytest.MonkeyPatch, part_bytes: int | None) -> None:
    """(What that costs in requests at 50,000 employees against the full read: bench.sync. ``part_bytes``:
    the feed position stored in rows of 256 compressed bytes, joined when read.)"""
    if part_bytes is not None:
        monkeypatch.setattr("sync_jobs.replica.PART_BYTES", part_bytes)
    first = run_sync(sync_app, full=False)
    stored = len(_replica(sync_app))  # streams, feed (in parts), basis
    assert first.status == "ok" and not first.via_feed and (stored == 8 if part_bytes is None else stored > 9)
    zup("POST", "mutate", {"percent": 5, "seed": 11})
    incremental = run_sync(sync_app, full=False)
    assert incremental.status == "ok" and incremental.via_feed and incremental.write_commands > 0
    portal("POST", "counters/reset")
    reconciliation = run_sync(sync_app, full=True)
    assert reconciliation.status == "ok" and not reconciliation.via_feed
    assert write_calls(portal("GET", "counters")) == 0  # the changes gave the same portal as a full read
    assert reconciliation.changed == {name: 0 for name in reconciliation.changed}


def test_1c_failing_during_the_feed_keeps_the_last_records(make_app: Callable[..., Flask], portal: Hooks,
                                                           zup: Hooks) -> None:
    app = make_app(onec_mode="soap")
    run_sync(app, full=False)
    stored = _replica(app)
    zup("POST", "mutate", {"percent": 5, "seed": 12})
    zup("POST", "faults", {"kind": "500", "rate": 1.0, "set": "GetChanges"})
    portal("POST", "counters/reset")
    failed = run_sync(app, full=False)
    assert failed.status == "failed" and "1С" in (failed.message or "")
    assert write_calls(portal("GET", "counters")) == 0 and _replica(app) == stored
    zup("DELETE", "faults")
    recovered = run_sync(app, full=False)
    assert recovered.status == "ok" and recovered.via_feed and recovered.write_commands > 0
    portal("POST", "counters/reset")
    assert run_sync(app, full=True).status == "ok" and write_calls(portal("GET", "counters")) == 0


def test_the_replica_holds_no_personal_data_in_clear(make_app: Callable[..., Flask], portal: Hooks) -> None:
    app = make_app(onec_mode="soap")
    run_sync(app, full=False)
    users = PortalView.read(portal).zup_users().values()
    clear = [str(u[name]).encode() for u in users for name in ("LAST_NAME", "EMAIL") if u.get(name)]
    payloads = _replica(app).values()
    assert clear and len(payloads) == 8
    assert not any(text in payload for text in clear for payload in payloads)
    for payload in payloads:  # Fernet tokens, not merely compressed text
        with pytest.raises(zlib.error):
            zlib.decompress(payload)
        assert payload.startswith(b"gAAAAA")


def _replica(app: Flask) -> dict[str, bytes]:
    with get_db(app).read_session() as session:
        return {row.stream: bytes(row.payload) for row in session.scalars(select(SyncReplica))}


def test_records_of_another_1c_are_not_reused(make_app: Callable[..., Flask], zup_server: Any) -> None:
    assert run_sync(make_app(onec_mode="soap"), full=False).status == "ok"
    soap_app = make_app(onec_mode="soap", onec_url=zup_server.wsdl_url.replace("127.0.0.1", "localhost"))
    switched = run_sync(soap_app, full=False)
    assert switched.status == "ok" and not switched.via_feed and switched.write_commands == 0
    assert run_sync(soap_app, full=False).via_feed


def test_records_the_token_keys_no_longer_open_mean_a_full_read(make_app: Callable[..., Flask]) -> None:
    assert run_sync(make_app(onec_mode="soap"), full=False).status == "ok"
    rotated = run_sync(make_app(onec_mode="soap", token_key=generate_token_key()), full=False)
    assert rotated.status == "ok" and not rotated.via_feed and rotated.write_commands == 0


def test_a_run_of_many_packages_acknowledges_only_the_stored_position(make_app: Callable[..., Flask],
                                                                      zup: Hooks) -> None:
    app = make_app(onec_mode="soap", onec_options={"paging": {"page_size": 10}})
    run_sync(app, full=False)
    stored = zup("GET", "feed")["version"]
    zup("POST", "mutate", {"percent": 10, "seed": 13})
    summary, counters = _requests(zup, lambda: run_sync(app, full=False))
    assert summary.status == "ok" and summary.via_feed
    assert counters["by_operation"]["Acknowledge"] == 1 and counters["by_operation"]["GetChanges"] > 2
    assert zup("GET", "feed")["acknowledged"] == stored


def test_plan_reads_the_feed_without_acknowledging_it(make_app: Callable[..., Flask], zup: Hooks) -> None:
    app = make_app(onec_mode="soap")
    run_sync(app, full=False)
    zup("POST", "mutate", {"percent": 5, "seed": 14})
    prepared, counters = _requests(zup, lambda: preview(app))
    assert prepared.source.via_feed and prepared.plan.counts()["users_update"] > 0
    assert counters["by_operation"] == {"GetChanges": 1} and zup("GET", "feed")["acknowledged"] == 0


def test_1c_restored_from_a_copy_means_a_full_read(make_app: Callable[..., Flask], portal: Hooks,
                                                   zup: Hooks) -> None:
    app = make_app(onec_mode="soap")
    run_sync(app, full=False)
    zup("POST", "mutate", {"percent": 5, "seed": 15})
    assert run_sync(app, full=False).via_feed  # the stored position is now ahead of the initial data
    zup("POST", "reset", {"generate": GENERATE, "seed": SEED})  # the infobase restored from a copy
    restored = run_sync(app, full=False, force=True)
    assert restored.status == "ok" and not restored.via_feed and restored.write_commands > 0
    portal("POST", "counters/reset")
    assert run_sync(app, full=True).status == "ok" and write_calls(portal("GET", "counters")) == 0
    assert run_sync(app, full=False).via_feed
