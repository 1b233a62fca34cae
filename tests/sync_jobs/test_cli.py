"""`b24app sync plan | run | runs` in Russian, through click."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from sync_jobs.cli import group
from tests.sync_jobs.conftest import Hooks
from tests.sync_jobs.portal_view import write_calls


def test_plan_writes_nothing_and_run_then_runs_list_it(sync_app: Flask, portal: Hooks) -> None:
    runner = sync_app.test_cli_runner()
    planned = runner.invoke(group, ["plan"])
    assert planned.exit_code == 0, planned.output
    assert "users_create" in planned.output and "Пригласить" in planned.output
    assert write_calls(portal("GET", "counters")) == 0
    ran = runner.invoke(group, ["run"])
    assert ran.exit_code == 0, ran.output
    assert "пользователей приглашено" in ran.output and "чтение 1С: полное" in ran.output
    listed = runner.invoke(group, ["runs"])
    assert "успешно" in listed.output and "incremental" in listed.output
    records = runner.invoke(group, ["runs", "--id", "1"])
    assert "нет e-mail" in records.output


def test_plan_after_changes_in_1c_shows_them_from_the_feed_or_a_full_read(make_app: Callable[..., Flask],
                                                                          zup: Hooks) -> None:
    runner = make_app(onec_mode="soap").test_cli_runner()
    assert runner.invoke(group, ["run"]).exit_code == 0
    zup("POST", "mutate", {"percent": 10, "seed": 5})
    from_feed, from_full_read = runner.invoke(group, ["plan"]), runner.invoke(group, ["plan", "--full"])
    assert from_feed.exit_code == 0 and from_full_read.exit_code == 0, from_feed.output + from_full_read.output
    counts = [[line for line in plan.output.splitlines() if line.startswith("  ") and ": " in line
               and not line.startswith("  -")] for plan in (from_feed, from_full_read)]
    assert counts[0] == counts[1] and any(line.startswith("  users_update: ") for line in counts[0])
