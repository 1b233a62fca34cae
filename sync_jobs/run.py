"""A SyncRun end to end: read 1C -> desired state -> plan -> safety -> execute -> report."""
from __future__ import annotations

import json
import logging
import time
from array import array
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from tqdm import tqdm

from b24app.bitrix.errors import B24Error
from b24app.db import Database, get_db
from b24app.metrics import SYNC_RECORDS
from b24app.portal import client_for, get_store
from onec.errors import OneCError, OneCFeedPositionUnknown
from onec.source import SourcePosition
from onec.source import ZupSource

from sync_jobs import store as runs
from sync_jobs.desired import NO_EMAIL, DesiredState, DesiredStateBuilder, Skipped, SourceRecords
from sync_jobs.errors import SourceReadFailed, SyncFatal, SyncRefused, classify
from sync_jobs.execute import PlanWriter
from sync_jobs.lock import Lease, sync_lock
from sync_jobs.plan import SyncPlan, deactivation_refusal, plan_sync
from sync_jobs.reconcile import Reconciler
from sync_jobs.sender import Report, Sender
from sync_jobs.settings import SyncSettings, sync_settings
from sync_jobs.connections import open_source, source_identity
from sync_jobs.store import MappingStore
from sync_jobs.replica import RecordCodec, ReplicaStore
from sync_jobs.streams import STREAMS, Bookmark, Stream, read_changes, read_streams

log = logging.getLogger(__name__)

STATUS_RU = {"ok": "успешно", "partial": "с ошибками по отдельным записям", "failed": "ошибка",
             "refused": "остановлена защитой", "running": "выполняется", "interrupted": "прервана"}
COUNT_RU = {"groups_created": "групп создано", "groups_updated": "групп обновлено",
            "moderators_added": "модераторов добавлено", "users_created": "пользователей приглашено",
            "users_updated": "пользователей обновлено", "users_reactivated": "пользователей восстановлено",
            "users_deactivated": "пользователей отключено", "memberships_added": "добавлений в группы",
            "memberships_removed": "исключений из групп", "errors": "ошибок", "unknown": "неизвестных исходов",
            "skipped_no_email": "без e-mail (не приглашены)",
            "skipped_rejected": "отклонены Битрикс24 ранее (ждут исправления в 1С)"}


@dataclass
class SyncRunSummary:
    run_id: int
    mode: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    write_commands: int = 0
    changed: dict[str, int] = field(default_factory=dict)  # records changed in 1C per stream
    records: list[Skipped] = field(default_factory=list)
    message: str | None = None
    write_s: float = 0.0  # time spent sending the plan to Bitrix24
    via_feed: bool = False  # 1C read as changes applied to the last run's records, not in full

    def render(self, examples: int = 10) -> str:
        """The operator-facing summary (Russian)."""
        lines = [f"Синхронизация №{self.run_id} ({'полная' if self.mode == 'full' else 'инкрементальная'}): "
                 f"{STATUS_RU.get(self.status, self.status)}"]
        if self.message:
            lines.append(self.message)
        lines += [f"  {COUNT_RU.get(name, name)}: {value}" for name, value in self.counts.items() if value]
        lines.append("  чтение 1С: " + ("изменения после прошлого запуска" if self.via_feed else "полное"))
        lines.append(f"  команд записи в Битрикс24: {self.write_commands} за {self.write_s:.1f} с")
        if self.changed:
            lines.append("  изменилось в 1С: " + ", ".join(f"{k} {v}" for k, v in self.changed.items()))
        for record in self.records[:examples]:
            lines.append(f"  - {record.title}: {record.reason}")
        if len(self.records) > examples:
            lines.append(f"  ... и ещё {len(self.records) - examples} (b24app sync runs --id {self.run_id})")
        return "\n".join(lines)


@dataclass
class SourceRead:
    """What a run knows of 1C, and what it stores once it succeeded."""

    records: SourceRecords
    bookmarks: dict[str, Bookmark]
    replica: dict[str, bytes]  # the kept records per stream, encoded (sync_jobs.replica)
    feed: SourcePosition | None  # the change-feed position of those records (or older); None: no feed
    source: str  # which 1C they come from (sync_jobs.connections.source_identity)
    via_feed: bool  # True: the last run's records plus 1C's changes; False: a full read


@dataclass
class Prepared:
    """One read of 1C turned into a plan."""

    desired: DesiredState
    plan: SyncPlan
    source: SourceRead
    changed: dict[str, int]


CODECS = {stream.name: RecordCodec(stream.kept_type) for stream in STREAMS}


def read_source(app: Flask, settings: SyncSettings, replicas: ReplicaStore, *, full: bool,
                acknowledge: bool = True) -> SourceRead:
    """A full read; or, in an incremental run from a source with a change feed, the feed applied to the
    last run's records (a full read when there are none, or when 1C no longer knows their position).
    ``acknowledge=False`` leaves 1C untouched (a preview). Any other 1C failure becomes
    SourceReadFailed: nothing is planned on it."""
    origin = source_identity(app, settings)
    try:
        with closing(open_source(app, settings)) as source:
            incremental = source.has_change_feed and not full
            applied = _feed_applied(source, replicas, origin, acknowledge) if incremental else None
            if applied is not None:
                records, feed = applied
            else:
                feed = source.snapshot() if source.has_change_feed else None  # before the read: no change missed
                records = read_streams(source, lambda: open_source(app, settings))
    except OneCError as error:
        raise SourceReadFailed(f"Чтение 1С не удалось ({type(error).__name__}): {error}. "
                               "Ничего не изменено, отключений не было.") from error
    replica = {} if feed is None else {name: CODECS[name].encode(items) for name, items in records.items()}
    return SourceRead(SourceRecords(**records), {s.name: s.bookmark(records[s.name]) for s in STREAMS},
                      replica, feed, origin, via_feed=applied is not None)


def _feed_applied(source: ZupSource, replicas: ReplicaStore, origin: str,
                  acknowledge: bool) -> tuple[dict[str, list[Any]], SourcePosition] | None:
    """The last run's records with 1C's changes applied, and the new feed position; None when nothing
    usable is stored or 1C no longer knows the stored position (a full read follows)."""
    stored = replicas.feed(origin)
    kept = None if stored is None else _stored_records(replicas)
    if stored is None or kept is None:
        return None
    try:
        feed = read_changes(source, kept, stored, acknowledge=acknowledge)
    except OneCFeedPositionUnknown as error:
        log.warning("%s", error)
        return None
    return {name: list(by_key.values()) for name, by_key in kept.items()}, feed


def _stored_records(replicas: ReplicaStore) -> dict[str, dict[str, Any]] | None:
    """Stream -> key -> kept record of the last successful run; None when a stream is missing."""
    kept: dict[str, dict[str, Any]] = {}
    for stream in STREAMS:
        records = replicas.records(stream.name, CODECS[stream.name])
        if records is None:
            return None
        kept[stream.name] = {getattr(record, stream.key): record for record in records}
    return kept


def desired_state(app: Flask, settings: SyncSettings, replicas: ReplicaStore, *,
                  full: bool, acknowledge: bool) -> tuple[DesiredState, SourceRead]:
    """The desired state of one read of 1C (its records are dropped once it is built: memory)."""
    read = read_source(app, settings, replicas, full=full, acknowledge=acknowledge)
    desired = DesiredStateBuilder(read.records, settings, settings.as_of()).build()
    read.records = SourceRecords([], [], [], [], [], [])
    return desired, read


def prepare(app: Flask, settings: SyncSettings, store: MappingStore, *, full: bool, acknowledge: bool = True,
            before_plan: Callable[[DesiredState], None] = lambda desired: None) -> Prepared:
    replicas = ReplicaStore(store.db, get_store(app).cipher)
    desired, read = desired_state(app, settings, replicas, full=full, acknowledge=acknowledge)
    changed = changed_since_last_run(store.db, read.bookmarks)
    before_plan(desired)
    plan = plan_sync(desired, store.pushed_state())
    return Prepared(desired, plan, read, changed)


def changed_since_last_run(db: Database, bookmarks: dict[str, Bookmark]) -> dict[str, int]:
    """Records changed per stream; before the mapping table is loaded (the last bookmarks weigh as much)."""
    previous = runs.load_bookmarks(db)
    return {name: Stream.changed(bookmark, previous.get(name, array("Q"))) for name, bookmark in bookmarks.items()}


def preview(app: Flask, *, full: bool = False) -> Prepared:
    """The plan the next run would carry out, without writing anything anywhere (``b24app sync plan``)."""
    settings = sync_settings(app)
    return prepare(app, settings, MappingStore(get_db(app)), full=full, acknowledge=False)


class SyncRunner:
    def __init__(self, app: Flask, settings: SyncSettings, lease: Lease, *, progress: bool) -> None:
        self.app = app
        self.settings = settings
        self.lease = lease
        self.progress = progress
        self.db = get_db(app)
        self.report = Report()
        self.write_s = 0.0

    def run(self, run_id: int, *, full: bool, force: bool) -> SyncRunSummary:
        store = MappingStore(self.db)
        client = client_for(self.app)
        bar = tqdm(total=0, unit="cmd", desc="Битрикс24", disable=not self.progress, leave=False)
        sender = Sender(client, store, self.report, on_outcome=lambda: self._tick(bar))
        reconciler = Reconciler(sender)
        writer = PlanWriter(sender, reconciler, owner_id=self.settings.owner_id)
        try:
            prepared = prepare(self.app, self.settings, store, full=full,
                               before_plan=lambda desired: self._reconcile(reconciler, desired, full))
            self._check_safety(prepared.plan, force)
            bar.total = _planned_writes(prepared.plan)
            started = time.monotonic()
            writer.run_groups(prepared.plan)
            writer.run_users(prepared.plan)
            writer.run_memberships(prepared.plan)
            self.write_s = time.monotonic() - started
        finally:
            bar.close()
            store.flush()
            client.close()
        runs.save_bookmarks(self.db, prepared.source.bookmarks)
        runs.save_directory(self.db, prepared.desired, get_store(self.app).cipher)
        read = prepared.source
        ReplicaStore(self.db, get_store(self.app).cipher).save(read.replica, read.feed, read.source)
        return self._summary(run_id, full, prepared)

    def _tick(self, bar: tqdm) -> None:
        bar.update(1)
        self.lease.renew()

    def _reconcile(self, reconciler: Reconciler, desired: DesiredState, full: bool) -> None:
        """Before planning: finish what a dead run left pending; nightly, also repair drift."""
        if full or not reconciler.user_fields_known():
            reconciler.ensure_user_fields()
        reconciler.reconcile_pending()
        if full:
            reconciler.observe_portal(desired)

    def _check_safety(self, plan: SyncPlan, force: bool) -> None:
        refusal = deactivation_refusal(plan, self.settings.max_deactivate_percent)
        if refusal and not force:
            raise SyncRefused(refusal)

    def _summary(self, run_id: int, full: bool, prepared: Prepared) -> SyncRunSummary:
        records = [*prepared.plan.skipped, *self.report.records]
        no_email = sum(1 for record in prepared.plan.skipped if record.reason == NO_EMAIL)
        counts = {**self.report.counts, "skipped_no_email": no_email,
                  "skipped_rejected": len(prepared.plan.skipped) - no_email}
        status = "partial" if self.report.records else "ok"
        return SyncRunSummary(run_id, "full" if full else "incremental", status, counts,
                              self.report.write_commands, prepared.changed, records, write_s=self.write_s,
                              via_feed=prepared.source.via_feed)


def _planned_writes(plan: SyncPlan) -> int:
    memberships = sum(len(v) // 50 + 1 for v in (*plan.membership_adds.values(),
                                                 *plan.membership_removes.values()))
    return (len(plan.group_creates) + len(plan.group_updates) + 2 * len(plan.moderator_adds)
            + len(plan.user_creates) + len(plan.user_updates) + len(plan.deactivations) + memberships)


def run_sync(app: Flask, *, full: bool, force: bool = False, progress: bool = False) -> SyncRunSummary:
    """One sync run under the sync lock; failures and refusals come back as the summary's status."""
    settings = sync_settings(app)
    db = get_db(app)
    mode = "full" if full else "incremental"
    with sync_lock(db) as lease:
        run_id = runs.start_run(db, mode)
        runner = SyncRunner(app, settings, lease, progress=progress)
        try:
            summary = runner.run(run_id, full=full, force=force)
        except (SyncFatal, B24Error) as error:
            summary = _failed(run_id, mode, runner.report, error)
        runs.finish_run(db, run_id, status=summary.status, counts=summary.counts, message=summary.message,
                        records=summary.records)
    for kind, count in summary.counts.items():
        if count and not kind.startswith("skipped"):
            SYNC_RECORDS.labels(kind).inc(count)
    log.info("sync run %s (%s): %s %s", run_id, mode, summary.status, json.dumps(summary.counts))
    return summary


def _failed(run_id: int, mode: str, report: Report, error: Exception) -> SyncRunSummary:
    status = "refused" if isinstance(error, SyncRefused) else "failed"
    if isinstance(error, B24Error):
        message = f"Битрикс24: {type(error).__name__} ({classify(error, per_command=False)}): {error}"[:500]
    else:
        message = str(error)
    return SyncRunSummary(run_id, mode, status, dict(report.counts), report.write_commands, {},
                          list(report.records), message)
