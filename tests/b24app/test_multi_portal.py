"""Many portals in one app.yaml: each portal's own sections inside its scope, the cluster: section's
checks, pause and resume, per-portal queue depth in /metrics, broker and Redis in /healthz."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from b24app import inbox
from b24app.cli import portals_group
from b24app.config import ConfigError
from b24app.db import get_db
from b24app.models import utcnow
from b24app.portal import get_config, get_store, portal_key, portals_in_turn
from b24app.scheduling import build_scheduler, portal_targets
from b24app.tenancy import portal_scope
from outreach.models import OutreachOptOut
from service import create_app
from sync_jobs.models import SyncMapping, SyncRun, SyncRunRecord
from tests.support import installed_stub, write_config
from tests.timesheets.factory import opened
from timesheets.jobs import health as timesheet_health
from timesheets.models import Timesheet, TimesheetDay

A, B = "a" * 32, "b" * 32


def _portals_config(tmp_path: Path, database_url: str, **extra):  # type: ignore[no-untyped-def]
    sections = {"portals": {A: {"title": "Ромашка", "sync": {"owner_id": 7},
                                "schedules": {"sync_incremental": "*/5 * * * *"}},
                            B: {"title": "Лютик"}},
                "sync": {"owner_id": 3}, "schedules": {"sync_incremental": "*/20 * * * *"}, **extra}
    return write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url, extra=sections)


@pytest.fixture
def portals_app(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    application = create_app(_portals_config(tmp_path, database_url)[0])
    application.config["TESTING"] = True
    for member_id in (A, B):
        installed_stub(application, member_id)
    yield application
    get_db(application).dispose()


def test_a_portal_scope_reads_that_portals_own_sections(portals_app: Flask) -> None:
    config = get_config(portals_app)
    assert config.settings("sync").owner_id == 3
    with portal_scope(A):
        assert config.settings("sync").owner_id == 7
        assert config.section("schedules")["sync_incremental"] == "*/5 * * * *"
    with portal_scope(B):  # names no sync: of its own
        assert config.settings("sync").owner_id == 3
        assert config.section("schedules")["sync_incremental"] == "*/20 * * * *"
    assert config.portals[A].title == "Ромашка"


def test_portal_key_is_the_portal_in_scope_else_the_only_installed_one(portals_app: Flask) -> None:
    """Whose rows the sync and outreach touch: with two installed, only a scope says."""
    with portal_scope(B):
        assert portal_key(portals_app) == B
    with pytest.raises(LookupError):
        portal_key(portals_app)
    get_store(portals_app).uninstall(member_id=A, clean=False)
    assert portal_key(portals_app) == B


def test_a_job_without_a_portal_in_scope_serves_every_installed_unpaused_one(portals_app: Flask) -> None:
    """Outreach and timesheet jobs with no portal named: each installed portal in turn, not a paused one."""
    assert portals_in_turn(portals_app) == [A, B]
    with portal_scope(B):
        assert portals_in_turn(portals_app) == [B]
    get_store(portals_app).set_paused(member_id=A, paused=True)
    assert portals_in_turn(portals_app) == [B]
    get_store(portals_app).uninstall(member_id=B, clean=False)
    assert portals_in_turn(portals_app) == []


def test_jobs_run_per_portal_and_the_sync_only_where_it_is_configured(portals_app: Flask) -> None:
    jobs = {job.id: str(job.trigger) for job in build_scheduler(portals_app, blocking=False).get_jobs()}
    assert f"sync_incremental@{A}" in jobs and f"sync_incremental@{B}" not in jobs
    assert "*/5" in jobs[f"sync_incremental@{A}"]
    assert {f"inbox_purge@{A}", f"inbox_purge@{B}"} <= set(jobs)
    sync = next(job for job in portals_app.extensions["b24app.features"].scheduled_jobs if job.name == "sync_full")
    assert portal_targets(portals_app, sync) == [A]


def test_a_single_portal_config_is_unchanged(app: Flask) -> None:
    assert {job.id for job in build_scheduler(app, blocking=False).get_jobs()} >= {"sync_incremental", "inbox_purge"}
    assert get_config(app).cluster.engine == "embedded" and get_config(app).portals == {}


def test_bad_cluster_and_portals_sections_are_named(tmp_path: Path, database_url: str) -> None:
    with pytest.raises(ConfigError) as error:
        _portals_config(tmp_path, database_url, cluster={"engine": "kafka", "fallback_share": 0},
                        portals={A: {"sync": {"owner_id": "семь"}}, B: "нет"})
    text = str(error.value)
    assert "cluster.engine: embedded или celery" in text
    assert "cluster.fallback_share" in text
    assert f"portals.{A}.sync.owner_id" in text
    assert f"portals.{B}: словарь" in text
    with pytest.raises(ConfigError) as error:
        _portals_config(tmp_path, database_url, cluster={"engine": "celery"})
    assert "B24APP_BROKER_URL" in str(error.value) and "B24APP_REDIS_URL" in str(error.value)


def test_a_paused_portal_keeps_its_calls_and_resume_releases_them(portals_app: Flask) -> None:
    db = get_db(portals_app)
    for member_id in (A, B):
        inbox.accept(db, member_id=member_id, kind="event", name="ONTEST", dedupe_key=member_id, payload={})
    runner = portals_app.test_cli_runner()
    assert "приостановлен" in runner.invoke(portals_group, ["pause", A]).output
    listing = runner.invoke(portals_group, ["list"]).output
    assert "приостановлен с" in listing and "«Ромашка»" in listing and "в очереди 1" in listing
    claimed = inbox.claim(db, holder="w", limit=10, lease_s=30, paused=get_store(portals_app).paused())
    assert [message.member_id for message in claimed] == [B]
    assert inbox.claim_item(db, 1, holder="w", lease_s=30, paused={A}) is None
    assert runner.invoke(portals_group, ["resume", A]).exit_code == 0
    assert get_store(portals_app).paused() == set()
    assert [m.member_id for m in inbox.claim(db, holder="w", limit=10, lease_s=30)] == [A]
    assert "нет портала" in runner.invoke(portals_group, ["pause", "c" * 32]).output


def test_metrics_give_each_portals_queue(portals_app: Flask) -> None:
    db = get_db(portals_app)
    for n in range(3):
        inbox.accept(db, member_id=A, kind="event", name="ONTEST", dedupe_key=f"a{n}", payload={})
    inbox.accept(db, member_id=B, kind="event", name="ONTEST", dedupe_key="b", payload={})
    body = portals_app.test_client().get("/metrics").get_data(as_text=True)
    assert f'b24app_portal_queue_items{{portal="{A}",status="pending"}} 3.0' in body
    assert f'b24app_portal_queue_items{{portal="{B}",status="pending"}} 1.0' in body


def test_healthz_reports_an_unreachable_broker_and_redis(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url,
                          extra={"cluster": {"engine": "celery"}},
                          env={"B24APP_BROKER_URL": "amqp://guest:guest@127.0.0.1:1//",
                               "B24APP_REDIS_URL": "redis://127.0.0.1:1/0"})[0]
    application = create_app(config)
    report = application.test_client().get("/healthz")
    assert report.status_code == 200  # calls are still accepted: degraded, not down
    checks = report.get_json()["checks"]
    assert report.get_json()["status"] == "degraded"
    assert checks["broker"].startswith("нет связи") and checks["redis"].startswith("нет связи")
    get_db(application).dispose()


def test_a_command_runs_in_the_portal_named_by_portal(tmp_path: Path, database_url: str) -> None:
    """``b24app --portal ID <command>``: the command reads that portal's own sections."""
    import click
    from click.testing import CliRunner
    from flask.cli import with_appcontext

    from service.cli import cli

    config, env = _portals_config(tmp_path, database_url)

    @cli.command("probe-owner")
    @with_appcontext
    def probe_owner() -> None:
        from flask import current_app

        click.echo(get_config(current_app).settings("sync").owner_id)

    try:
        runner = CliRunner(env={**env, "B24APP_CONFIG": str(tmp_path / "app.yaml")})
        assert runner.invoke(cli, ["--portal", A, "probe-owner"]).output.strip() == "7"
        assert runner.invoke(cli, ["probe-owner"]).output.strip() == "3"
    finally:
        cli.commands.pop("probe-owner")


def test_every_portal_may_have_its_own_sync_and_outreach(tmp_path: Path, database_url: str) -> None:
    """The sync's and outreach's tables keep each portal's state apart: both sections under several portals,
    their jobs once per portal."""
    config, _ = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url, extra={
        "portals": {A: {"sync": {"owner_id": 7}, "outreach": {"company": "Ромашка"}},
                    B: {"sync": {"owner_id": 8}, "outreach": {"company": "Лютик"}}}})
    application = create_app(config)
    jobs = {job.id for job in build_scheduler(application, blocking=False).get_jobs()}
    assert {f"{name}@{m}" for name in ("sync_incremental", "sync_full", "outreach_send") for m in (A, B)} <= jobs
    with portal_scope(B):
        assert get_config(application).settings("sync").owner_id == 8
    get_db(application).dispose()


def test_commands_touch_the_portal_named_and_ask_for_one_when_several_are_installed(
        tmp_path: Path, database_url: str) -> None:
    from click.testing import CliRunner

    from outreach.campaign import opted_out_addresses
    from service.cli import cli

    config, env = _portals_config(tmp_path, database_url)
    application = create_app(config)
    for member_id in (A, B):
        installed_stub(application, member_id)
    runner = CliRunner(env={**env, "B24APP_CONFIG": str(tmp_path / "app.yaml")})
    unnamed = runner.invoke(cli, ["outreach", "opt-out", "+79161234567"])
    assert unnamed.exit_code == 1 and "укажите портал" in unnamed.output
    assert runner.invoke(cli, ["--portal", A, "outreach", "opt-out", "+79161234567"]).exit_code == 0
    assert opted_out_addresses(get_db(application), A) == {"+79161234567"}
    assert opted_out_addresses(get_db(application), B) == set()
    assert "укажите портал" in runner.invoke(cli, ["outreach", "run"]).output
    assert "укажите портал" in runner.invoke(cli, ["sync", "runs"]).output
    assert "Запусков ещё не было" in runner.invoke(cli, ["--portal", B, "sync", "runs"]).output
    get_db(application).dispose()


def test_a_clean_uninstall_deletes_that_portals_data_and_keeps_the_others(portals_app: Flask) -> None:
    """ONAPPUNINSTALL with CLEAN: every table keyed by member_id, and what hangs off it, loses that portal's rows."""
    db, now = get_db(portals_app), dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone.utc)
    with db.session() as session:
        for member_id in (A, B):
            session.add(SyncMapping(member_id=member_id, kind="user", key="person-1", b24_id=5))
            session.add(OutreachOptOut(member_id=member_id, address="a@example.ru", created_at=utcnow()))
            run = SyncRun(member_id=member_id, mode="full")
            session.add(run)
            session.flush()
            session.add(SyncRunRecord(run_id=run.id, kind="user", key="person-2", title="—", reason="нет e-mail"))
            opened(session, now, portal=member_id)
    get_store(portals_app).uninstall(member_id=A, clean=True)
    with db.read_session() as session:
        for model in (SyncMapping, OutreachOptOut, SyncRun, Timesheet):
            assert session.scalars(select(model.member_id)).all() == [B], model.__tablename__
        assert session.scalar(select(func.count()).select_from(SyncRunRecord)) == 1
        assert {day.timesheet.member_id for day in session.scalars(select(TimesheetDay))} == {B}
    assert get_store(portals_app).find(member_id=A) is None and get_store(portals_app).find(member_id=B) is not None


def test_health_counts_unpushed_timesheets_only_where_they_go_to_1c(tmp_path: Path, database_url: str) -> None:
    connection = {"name": "zup", "mode": "odata", "url": "http://127.0.0.1:9/odata", "login": "hr",
                  "password_env": "ZUP_PASSWORD"}
    config, _ = write_config(tmp_path, public_url="http://127.0.0.1:5000", database_url=database_url, extra={
        "onec": {"connections": [connection]}, "timesheets": {},
        "portals": {A: {"timesheets": {"onec": {"time_kind": "5f7c2a10-0000-0000-0000-000000000001"}}}, B: {}}},
        env={"ZUP_PASSWORD": "x"})
    application = create_app(config)
    for member_id in (A, B):
        installed_stub(application, member_id)
    with get_db(application).session() as session:
        for portal in (A, B):
            opened(session, dt.datetime(2026, 12, 31, tzinfo=dt.timezone.utc), portal=portal).status = "locked"
    assert timesheet_health(application)["onec_push"] == "закрытых табелей не в 1С: 1"  # a's; b keeps them
    get_db(application).dispose()
