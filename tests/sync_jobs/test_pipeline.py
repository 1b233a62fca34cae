"""The pipelined run: writes begin while 1C is still being read; a read that fails midway decides nothing."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest
from flask import Flask

import sync_jobs.pipeline
import sync_jobs.streams
from onec.errors import OneCTransportError
from sync_jobs import run_sync
from sync_jobs.run import preview
from sync_jobs.execute import PlanWriter
from sync_jobs.models import SyncBookmark
from b24app.db import get_db
from b24app.portal import get_store, portal_key
from sync_jobs.pipeline import CODECS
from sync_jobs.replica import ReplicaStore
from tests.sync_jobs.conftest import Hooks
from tests.sync_jobs.portal_view import PortalView

T = TypeVar("T")
WAIT_S = 120  # only reached when the run does not write while it reads: the assertion then fails
MODES = ("odata", "soap")


@pytest.fixture(params=MODES)
def onec_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def read_app(onec_mode: str, make_app: Callable[..., Flask]) -> Flask:
    """The app over OData, or over the B24Sync feed in packages of 20 items (so that it is walked in many)."""
    if onec_mode == "soap":
        return make_app(onec_mode="soap", onec_options={"paging": {"page_size": 20}})
    return make_app()


def _later_chunk(onec_mode: str, chunk: int) -> int:
    """The feed's first packages hold the catalogs (and a person or two before them): over SOAP, the chunk
    two packages of people later."""
    return chunk + 2 if onec_mode == "soap" else chunk


def _gate_persons(monkeypatch: pytest.MonkeyPatch, at_chunk: int, act: Callable[[], None],
                  stream: str = "persons") -> None:
    """Records arrive 10 at a time; the reader of ``stream`` calls ``act`` before it hands over chunk
    ``at_chunk``."""
    monkeypatch.setattr(sync_jobs.streams, "CHUNK", 10)
    deliver_streams = sync_jobs.pipeline.deliver_streams
    chunks = {stream: 0}

    def gated(source: Any, open_source: Any, deliver: Any, *args: Any) -> None:
        def gate(name: str, chunk: list[Any] | None) -> None:
            if name == stream and chunk is not None:
                chunks[stream] += 1
                if chunks[stream] == at_chunk:
                    act()
            deliver(name, chunk)
        deliver_streams(source, open_source, gate, *args)

    monkeypatch.setattr(sync_jobs.pipeline, "deliver_streams", gated)


def _last_persons_chunk(app: Flask, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many chunks of persons a full read of 1C hands over now (a preview counted; 10 a chunk). The
    feed holds what 1C changed last at its end: the people a run writes for come in the last packages."""
    counted: list[int] = []
    with monkeypatch.context() as patch:
        _gate_persons(patch, 10**9, lambda: None)
        patch.setattr(sync_jobs.pipeline, "deliver_streams", _counting(sync_jobs.pipeline.deliver_streams, counted))
        preview(app, full=True)
    return len(counted)


def _counting(deliver_streams: Any, counted: list[int]) -> Any:
    def counting(source: Any, open_source: Any, deliver: Any, *args: Any) -> Any:
        def count(name: str, chunk: list[Any] | None) -> None:
            if name == "persons" and chunk is not None:
                counted.append(len(chunk))
            deliver(name, chunk)
        return deliver_streams(source, open_source, count, *args)
    return counting


def _on_first_write(monkeypatch: pytest.MonkeyPatch, method: str | None = None) -> threading.Event:
    """Set once the portal answered a write (of ``method``, when given)."""
    wrote = threading.Event()
    record = PlanWriter._stream_outcome

    def recorded(writer: PlanWriter, outcome: Any) -> None:
        if method in (None, outcome.command.method):
            wrote.set()
        record(writer, outcome)

    monkeypatch.setattr(PlanWriter, "_stream_outcome", recorded)
    return wrote


def test_first_writes_go_out_while_persons_are_still_being_read(read_app: Flask, onec_mode: str, portal: Hooks,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    wrote = _on_first_write(monkeypatch)
    answered: list[bool] = []
    _gate_persons(monkeypatch, _later_chunk(onec_mode, 2), lambda: answered.append(wrote.wait(WAIT_S)))
    summary = run_sync(read_app, full=False)
    assert summary.status == "ok", summary.render()
    assert answered == [True]  # the portal answered a write before the second chunk of persons was read
    assert summary.first_write_s is not None


def test_users_are_invited_while_the_register_is_still_being_read(read_app: Flask, onec_mode: str, portal: Hooks,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Over OData the register comes grouped by person, and the feed holds a person's items together: a
    person whose rows are all in is decided before the register (the walk) ends."""
    invited = _on_first_write(monkeypatch, "user.add")
    answered: list[bool] = []
    _gate_persons(monkeypatch, _later_chunk(onec_mode, 3), lambda: answered.append(invited.wait(WAIT_S)),
                  stream="employments")
    summary = run_sync(read_app, full=True)
    assert summary.status == "ok", summary.render()
    assert answered == [True]  # a user.add was answered before the third chunk of the register was read


def test_read_failing_after_writes_began_removes_and_deactivates_nobody(read_app: Flask, onec_mode: str, portal: Hooks,
                                                                         zup: Hooks,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    run_sync(read_app, full=False)
    before = PortalView.read(portal).state()
    with get_db(read_app).read_session() as session:
        bookmarks = {row.stream: row.value for row in session.query(SyncBookmark)}
    zup("POST", "mutate", {"percent": 20, "seed": 7})  # dismissals, transfers, new people, changed fields
    wrote = _on_first_write(monkeypatch)

    def fail_after_a_write() -> None:
        wrote.wait(WAIT_S)
        raise OneCTransportError("1C OData connection failed on persons: ConnectionError")

    _gate_persons(monkeypatch, 4 if onec_mode == "odata" else _last_persons_chunk(read_app, monkeypatch),
                  fail_after_a_write)
    failed = run_sync(read_app, full=True, force=True)  # a full read, in chunks
    assert failed.status == "failed" and "1С" in (failed.message or ""), failed.render()
    assert not {"users_deactivated", "memberships_removed"} & {k for k, v in failed.counts.items() if v}
    after = PortalView.read(portal).state()
    for xml, user in before["users"].items():
        assert after["users"][xml][3] == user[3], f"{xml} changed ACTIVE on a partial read"
    for marker, members in before["members"].items():
        assert members <= after["members"][marker], f"members removed from {marker} on a partial read"
    with get_db(read_app).read_session() as session:
        assert {row.stream: row.value for row in session.query(SyncBookmark)} == bookmarks
    monkeypatch.undo()
    assert run_sync(read_app, full=False, force=True).status in ("ok", "partial")


class _Late(Future[T]):
    """A result worked out only once it is asked for: the thread that ``sync_jobs.pipeline._in_thread``
    started began its work after its caller went on (as a loaded machine may schedule it)."""

    def __init__(self, work: Callable[[], T]) -> None:
        super().__init__()
        self.work: Callable[[], T] | None = work
        self.lock = threading.Lock()

    def _run(self) -> None:
        with self.lock:
            work, self.work = self.work, None
        if work is not None:
            try:
                self.set_result(work())
            except BaseException as error:
                self.set_exception(error)

    def result(self, timeout: float | None = None) -> T:
        self._run()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._run()
        return super().exception(timeout)


def _started_late(work: Callable[..., T], *args: Any) -> Future[T]:
    return _Late(lambda: work(*args))


def test_a_run_stores_its_whole_read_however_late_the_storing_thread_starts(read_app: Flask, portal: Hooks,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The bookmarks and the replica are worked out beside the writes once the read ended; what they are
    made of must not depend on when that thread gets to run."""
    with monkeypatch.context() as patch:
        patch.setattr(sync_jobs.pipeline, "_in_thread", _started_late)
        first = run_sync(read_app, full=True)
    assert first.status == "ok", first.render()
    replicas = ReplicaStore(get_db(read_app), get_store(read_app).cipher, portal_key(read_app))
    read = preview(read_app, full=True).source
    for name in ("persons", "employments"):
        assert len(replicas.records(name, CODECS[name]) or ()) == len(read.records[name]), name
    again = run_sync(read_app, full=True)
    assert again.status == "ok", again.render()
    assert again.changed == {name: 0 for name in again.changed}, again.render()  # the bookmarks of the whole read
