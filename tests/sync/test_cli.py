"""`b24app sync plan | run | runs` in Russian, through click."""
from __future__ import annotations

from flask import Flask

from sync_jobs.cli import group
from tests.sync.conftest import Hooks
from tests.sync.portal_view import write_calls


def test_plan_writes_nothing_and_run_then_runs_list_it(sync_app: Flask, portal: Hooks) -> None:
    runner = sync_app.test_cli_runner()
    planned = runner.invoke(group, ["plan"])
    assert planned.exit_code == 0, planned.output
    assert "users_create" in planned.output and "Пригласить" in planned.output
    assert write_calls(portal("GET", "counters")) == 0
    ran = runner.invoke(group, ["run"])
    assert ran.exit_code == 0, ran.output
    assert "пользователей приглашено" in ran.output
    listed = runner.invoke(group, ["runs"])
    assert "успешно" in listed.output and "incremental" in listed.output
    records = runner.invoke(group, ["runs", "--id", "1"])
    assert "нет e-mail" in records.output
