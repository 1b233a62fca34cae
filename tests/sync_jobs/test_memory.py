"""The incremental run's memory: the mapping table is loaded only after the 1C records were dropped."""
from __future__ import annotations

import gc
from functools import cached_property
from typing import Any

import pytest
from flask import Flask

import sync_jobs.run
from onec.models import Person
from sync_jobs import run_sync
from sync_jobs.store import MappingStore, Row
from tests.sync_jobs.conftest import Hooks


def test_mapping_table_loads_after_the_1c_records_are_gone(sync_app: Flask, portal: Hooks,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    run_sync(sync_app, full=False)
    events: list[tuple[str, int]] = []
    read_source, load = sync_jobs.run.read_source, MappingStore.rows.func

    def reading(*args: Any, **options: Any) -> Any:
        events.append(("read", 0))
        return read_source(*args, **options)

    def loading(store: MappingStore) -> dict[tuple[str, str], Row]:
        gc.collect()
        events.append(("load", sum(1 for o in gc.get_objects() if isinstance(o, Person))))
        return load(store)

    rows = cached_property(loading)
    rows.__set_name__(MappingStore, "rows")
    monkeypatch.setattr(sync_jobs.run, "read_source", reading)
    monkeypatch.setattr(MappingStore, "rows", rows)
    summary = run_sync(sync_app, full=False)
    assert summary.status == "ok" and summary.write_commands == 0
    assert events == [("read", 0), ("load", 0)]
