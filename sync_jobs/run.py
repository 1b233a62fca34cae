"""A SyncRun end to end: read 1C -> desired state -> plan -> safety -> execute -> report."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from flask import Flask
from tqdm import tqdm

from b24app.bitrix.errors import B24Error
from b24app.db import get_db
from b24app.metrics import SYNC_RECORDS
from b24app.portal import client_for, get_store, portal_key

from sync_jobs import store as runs
from sync_jobs.connections import source_identity
from sync_jobs.desired import NO_EMAIL, DesiredState, DesiredStateBuilder, Skipped, SourceRecords, build_desired
from sync_jobs.errors import SyncFatal, SyncRefused, classify
from sync_jobs.execute import PlanWriter
from sync_jobs.lock import Lease, sync_lock
from sync_jobs.pipeline import (BackgroundRead, DecidedFeed, ReadResults, SourceRead, changed_since_last_run,
                                read_into, read_source)
from sync_jobs.plan import MappedUser, Planner, SyncPlan, deactivation_refusal, plan_sync
from sync_jobs.reconcile import Reconciler
from sync_jobs.sender import Report, Sender
from sync_jobs.settings import SyncSettings, sync_settings
from sync_jobs.store import MappingStore
from sync_jobs.replica import BASIS, ReplicaStore, compressed_json
from sync_jobs.scope import decision_basis

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
    first_write_s: float | None = None  # from the start of the run until the portal answered its first write
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
class Prepared:
    """One read of 1C turned into a plan."""

    desired: DesiredState
    plan: SyncPlan
    source: SourceRead
    changed: dict[str, int]


def prepare(app: Flask, settings: SyncSettings, store: MappingStore, *, full: bool,
            acknowledge: bool = True) -> Prepared:
    """The whole read, then the plan (a preview: nothing is written)."""
    replicas = ReplicaStore(store.db, get_store(app).cipher, store.portal)
    read = read_source(app, settings, replicas, full=full, acknowledge=acknowledge)
    changed = changed_since_last_run(store.db, store.portal, read.bookmarks)
    desired = build_desired(SourceRecords(**read.records), settings, settings.as_of())
    return Prepared(desired, plan_sync(desired, store.pushed_state()), read, changed)


def preview(app: Flask, *, full: bool = False) -> Prepared:
    """The plan the next run would carry out, without writing anything anywhere (``b24app sync plan``)."""
    settings = sync_settings(app).on_one_day()
    return prepare(app, settings, MappingStore(get_db(app), portal_key(app)), full=full, acknowledge=False)


class SyncRunner:
    def __init__(self, app: Flask, settings: SyncSettings, lease: Lease, portal: str, *, progress: bool) -> None:
        self.app = app
        self.portal = portal
        self.settings = settings
        self.lease = lease
        self.progress = progress
        self.db = get_db(app)
        self.report = Report()
        self.write_s = 0.0
        self.started = time.monotonic()

    def run(self, run_id: int, *, full: bool, force: bool) -> SyncRunSummary:
        """1C is read in the background while the reconciliation runs and what is decided is written
        (sync_jobs.pipeline); removals and deactivations only after the whole read, past the guard."""
        store = MappingStore(self.db, self.portal)
        client = client_for(self.app)
        bar = tqdm(total=0, unit="cmd", desc="Битрикс24", disable=not self.progress, leave=False)
        sender = Sender(client, store, self.report, on_outcome=lambda: self._tick(bar))
        reconciler = Reconciler(sender)
        writer = PlanWriter(sender, reconciler, owner_id=self.settings.owner_id)
        replicas = ReplicaStore(self.db, get_store(self.app).cipher, self.portal)
        read = BackgroundRead(lambda deliver: read_into(self.app, self.settings, replicas, deliver, full=full,
                                                        narrow=True)).start()
        try:
            self._reconcile(reconciler, full)
            feed = DecidedFeed(read, source_identity(self.app, self.settings),
                               DesiredStateBuilder(self.settings, self.settings.as_of()),
                               Planner(store.mapped_group, store.mapped_user, store.rejected,
                                       sum(1 for user in store.mapped_users() if user.active)),
                               lambda planner, desired, people: planner.finish(desired, _among(store, people)),
                               self._results, reconciler.observe_user if full else lambda user: None)
            started = time.monotonic()
            writer.run_pipelined(feed)
            feed.raise_if_failed()
            assert feed.desired is not None
            writer.finish(feed.plan, allowed=lambda plan: self._check_safety(plan, force), revise=feed.revise)
            self.write_s = time.monotonic() - started
        finally:
            read.stop()
            bar.close()
            store.flush()
            client.close()
        results = feed.results()
        source = results.source
        prepared = Prepared(feed.desired, feed.plan, source, changed_since_last_run(self.db, self.portal,
                                                                                    source.bookmarks))
        runs.save_bookmarks(self.db, self.portal, source.bookmarks)
        runs.save_directory(self.db, self.portal, results.directory, get_store(self.app).cipher, results.people)
        replicas.save({**source.replica, **self._basis(store, feed.plan)})
        return self._summary(run_id, full, prepared)

    def _results(self, source: SourceRead, desired: DesiredState, people: frozenset[str] | None) -> ReadResults:
        """Computed once the read succeeded, beside the writes: bookmarks, replica, directory rows."""
        return ReadResults(source.prepare(), runs.directory_rows(desired, get_store(self.app).cipher), people)

    def _basis(self, store: MappingStore, plan: SyncPlan) -> dict[str, bytes]:
        """The stored decision basis (sync_jobs.scope): the next incremental run decides again the people
        this run failed to write or left out (listed again in its summary); nothing (everyone is decided)
        after a group or membership failed."""
        if any(record.kind != "user" for record in self.report.records):
            return {}
        retry = sorted({record.key for record in [*self.report.records, *plan.skipped]})
        return {BASIS: compressed_json({**decision_basis(self.settings, len(store.of_kind("user"))), "retry": retry})}

    def _tick(self, bar: tqdm) -> None:
        bar.update(1)
        self.lease.renew()

    def _reconcile(self, reconciler: Reconciler, full: bool) -> None:
        """Before planning: finish what a dead run left pending; nightly, also repair drift."""
        if full or not reconciler.user_fields_known():
            reconciler.ensure_user_fields()
        reconciler.reconcile_pending()
        if full:
            reconciler.observe_portal()

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
                              via_feed=prepared.source.via_feed, first_write_s=self.first_write_s)

    @property
    def first_write_s(self) -> float | None:
        first = self.report.first_write_at
        return None if first is None else first - self.started


def _among(store: MappingStore, people: frozenset[str] | None) -> list[MappedUser]:
    """The mapped users of ``people`` (None: all): the only ones an incremental run may take out or
    deactivate when 1C no longer has them."""
    return [user for user in store.mapped_users() if people is None or user.key in people]


def run_sync(app: Flask, *, full: bool, force: bool = False, progress: bool = False) -> SyncRunSummary:
    """One sync run of the portal in scope (``portal_key``) under its sync lock; failures and refusals
    come back as the summary's status."""
    settings = sync_settings(app).on_one_day()
    db = get_db(app)
    portal = portal_key(app)
    mode = "full" if full else "incremental"
    with sync_lock(db, portal) as lease:
        run_id = runs.start_run(db, portal, mode)
        runner = SyncRunner(app, settings, lease, portal, progress=progress)
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
