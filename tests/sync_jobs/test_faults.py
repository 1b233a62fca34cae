"""Faults: Bitrix24 503s, timeouts and an expired token; 1C failing mid-read; SIGKILL at random points."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import delete

from sync_jobs import run_sync
from sync_jobs.run import preview
from sync_jobs.execute import PlanWriter
from sync_jobs.models import SyncMapping, SyncRun
from sync_jobs.store import MappingStore
from b24app.db import get_db
from tests.sync_jobs.conftest import Hooks, sync_config_data, sync_env
from tests.sync_jobs.portal_view import PortalView, write_calls
from tests.sync_jobs.zup_edit import dismiss, employees_of, hire_second_job
from tests.support import python_path

REPO = Path(__file__).resolve().parents[2]


def _converged(portal: Hooks, app: Flask) -> dict[str, Any]:
    """The portal after a clean rerun; that rerun must find nothing left to write."""
    portal("POST", "counters/reset")
    summary = run_sync(app, full=True)
    assert summary.status == "ok", summary.render()
    return PortalView.read(portal).state()


def test_bitrix_503s_and_timeouts_lose_and_duplicate_nothing(sync_app: Flask, make_app: Any,
                                                                   portal: Hooks) -> None:
    portal("POST", "faults", {"rate": 0.05, "status": 503, "kind": "error"})
    portal("POST", "faults", {"rate": 0.05, "kind": "timeout", "delay_s": 0.3})
    portal("POST", "faults", {"rate": 0.03, "kind": "timeout", "delay_s": 0.3, "after": True})
    summary = run_sync(sync_app, full=False)
    portal("DELETE", "faults")
    assert summary.status in ("ok", "partial"), summary.render()
    faulty = PortalView.read(portal).state()
    clean = _converged(portal, sync_app)
    assert faulty["users"].keys() == clean["users"].keys()
    portal("POST", "reset")
    reference_app = make_app()
    with get_db(reference_app).session() as session:
        session.execute(delete(SyncMapping))
    run_sync(reference_app, full=False)
    assert PortalView.read(portal).state() == clean


def test_1c_failing_mid_read_fails_cleanly_without_deactivation(sync_app: Flask, portal: Hooks,
                                                                zup: Hooks) -> None:
    run_sync(sync_app, full=False)
    before = PortalView.read(portal).state()
    zup("POST", "faults", {"kind": "500", "set": "InformationRegister_ТекущиеКадровыеДанныеСотрудников",
                           "rate": 1.0})
    portal("POST", "counters/reset")
    summary = run_sync(sync_app, full=True)
    assert summary.status == "failed" and "1С" in (summary.message or "")
    assert write_calls(portal("GET", "counters")) == 0
    assert PortalView.read(portal).state() == before
    with get_db(sync_app).session() as session:
        assert session.query(SyncRun).order_by(SyncRun.id.desc()).first().status == "failed"


def _cli(tmp_path: Path, portal_server: Any, zup_server: Any, database_url: str,
         onec_options: dict[str, Any] | None = None, onec_mode: str = "odata") -> tuple[list[str], dict[str, str]]:
    """The CLI's sync run. Its guard admits any share of deactivations: between kills 1C dismisses people
    (mutations) whom a killed run may have invited, and on a portal that killed runs filled only in part
    those may be more than 5 % of the active users — the guard would refuse a correct plan. What these
    tests check instead: no deactivation after a kill (``_active_users_1c_still_employs``) and the final
    state equal to a run from scratch."""
    config = tmp_path / "cli.yaml"
    data = {"app": {"public_url": "http://127.0.0.1:5000"},
            **sync_config_data(zup_server, onec_mode, onec_options=onec_options, max_deactivate_percent=100)}
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, **sync_env(portal_server, zup_server), "B24APP_CONFIG": str(config),
           "DATABASE_URL": database_url, "SECRET_KEY": "test", "B24APP_TOKEN_KEY": _key(),
           "PYTHONPATH": python_path(str(REPO))}
    return [sys.executable, "-m", "service.cli", "sync", "run"], env


def _kill_rounds(command: list[str], env: dict[str, str], zup: Hooks, rng: random.Random, rounds: int,
                 mutations: dict[int, float], pause: tuple[float, float], check: Callable[[], None]) -> None:
    """``rounds`` runs of ``command``, each SIGKILLed after a random pause; 1C changes by ``mutations``
    (round -> percent) before some of them; ``check`` after each."""
    for round_number in range(rounds):
        if round_number in mutations:
            zup("POST", "mutate", {"percent": mutations[round_number], "seed": round_number})
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(*pause))
        process.send_signal(signal.SIGKILL)
        process.wait()
        check()


def _no_duplicates(portal: Hooks) -> None:
    view = PortalView.read(portal)
    view.zup_users()  # asserts there are no duplicates
    view.zup_groups()


def _after_kill(portal: Hooks, app: Flask) -> Callable[[], None]:
    """What holds after every killed run: no duplicates, nobody 1C still employs deactivated."""
    def check() -> None:
        _no_duplicates(portal)
        _active_users_1c_still_employs(portal, app)

    return check


def _key() -> str:
    from b24app.config import generate_token_key
    return generate_token_key()


@pytest.mark.parametrize("onec_mode", ["odata", "soap"])
def test_sigkill_at_random_points_converges_without_duplicates(
        tmp_path: Path, sync_app: Flask, portal: Hooks, zup: Hooks, portal_server: Any, zup_server: Any,
        database_url: str, onec_mode: str) -> None:
    command, env = _cli(tmp_path, portal_server, zup_server, database_url, onec_mode=onec_mode)
    portal("POST", "faults", {"rate": 1.0, "kind": "slow", "delay_s": 0.05})  # stretch the run to be killable
    _kill_rounds(command, env, zup, random.Random(5), 10, {5: 5}, (0.5, 3.0), _after_kill(portal, sync_app))
    portal("DELETE", "faults")
    finished = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    killed = _converged(portal, sync_app)
    portal("POST", "reset")
    with get_db(sync_app).session() as session:
        session.execute(delete(SyncMapping))
    run_sync(sync_app, full=False, force=True)
    assert PortalView.read(portal).state() == killed


def _active_users_1c_still_employs(portal: Hooks, app: Flask) -> None:
    """Nobody 1C still employs was deactivated (a killed run must never decide on a partial read)."""
    desired = preview(app).desired.users
    for xml, user in PortalView.read(portal).zup_users().items():
        wanted = desired.get(xml[len("zup:"):])
        assert user["ACTIVE"] or (wanted is not None and wanted.active is False), f"{xml} deactivated"


@pytest.mark.parametrize("onec_mode", ["odata", "soap"])
def test_sigkill_in_the_read_or_between_batches_converges_on_the_next_incremental_run(
        tmp_path: Path, sync_app: Flask, portal: Hooks, zup: Hooks, portal_server: Any, zup_server: Any,
        database_url: str, onec_mode: str) -> None:
    """Issue 15 / issue 10 item 5: pipelined runs killed anywhere (1C read in pages of 10 — over SOAP the
    feed walked in packages of 10 — and slowed, so kills land in the read as well as between batches),
    1C changing between them (people moved between departments among them); the next incremental run
    converges: no duplicates, nobody left in a group they were moved out of, no deactivation from a
    partial read."""
    command, env = _cli(tmp_path, portal_server, zup_server, database_url,
                        onec_options={"paging": {"page_size": 10, "scan_page_size": 10}}, onec_mode=onec_mode)
    portal("POST", "faults", {"rate": 1.0, "kind": "slow", "delay_s": 0.05})
    zup("POST", "faults", {"rate": 1.0, "kind": "slow", "delay_s": 0.02})

    _kill_rounds(command, env, zup, random.Random(15), 8, {2: 10, 5: 10}, (0.3, 4.0),
                 _after_kill(portal, sync_app))
    portal("DELETE", "faults")
    zup("DELETE", "faults")
    finished = subprocess.run(command, env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    killed = PortalView.read(portal).state()
    portal("POST", "reset")
    with get_db(sync_app).session() as session:
        session.execute(delete(SyncMapping))
    run_sync(sync_app, full=False, force=True)
    reference = PortalView.read(portal).state()
    assert killed["members"] == reference["members"]
    assert {x: u for x, u in killed["users"].items() if u[3]} == {x: u for x, u in reference["users"].items() if u[3]}


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even the mapping table's last flush."""


def test_membership_a_killed_run_added_is_read_back_before_the_next_plan(
        sync_app: Flask, portal: Hooks, zup_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10 item 5: the run dies after the portal confirmed a membership and before the mapping table
    recorded it; 1C then takes the person out of that department again. The next incremental run reads
    the membership back from the portal first, so the person does not stay in the group."""
    run_sync(sync_app, full=False)
    xml, _ = next((x, u) for x, u in sorted(PortalView.read(portal).zup_users().items()) if u["ACTIVE"])
    person = xml[len("zup:"):]
    second_job = hire_second_job(zup_server, employees_of(zup_server, person)[0])
    done, flush = PlanWriter._membership_done, MappingStore.flush

    def dies_on_the_answer(writer: PlanWriter, outcome: Any) -> None:
        if person in outcome.command.ref[2]:
            monkeypatch.setattr(MappingStore, "flush", lambda store: None)
            raise Killed
        done(writer, outcome)

    monkeypatch.setattr(PlanWriter, "_membership_done", dies_on_the_answer)
    with pytest.raises(Killed):
        run_sync(sync_app, full=False)
    monkeypatch.setattr(PlanWriter, "_membership_done", done)
    monkeypatch.setattr(MappingStore, "flush", flush)
    assert sum(xml in members for members in PortalView.read(portal).members().values()) == 2
    dismiss(zup_server, second_job)
    summary = run_sync(sync_app, full=False)
    assert summary.status == "ok", summary.render()
    assert sum(xml in members for members in PortalView.read(portal).members().values()) == 1
