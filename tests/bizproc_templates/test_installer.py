"""`templates install|diff|list` against the Bitrix24 emulator: idempotent, minimal, re-registered after update."""
from __future__ import annotations

from copy import deepcopy

from bizproc_templates.catalog import load_app_activities
from bizproc_templates.cli import group
from bizproc_templates.installer import Installer
from bizproc_templates.source import Process, load_processes
from bizproc_templates.demo import wait_for
from tests.bizproc_templates.conftest import Stack

READS = {"bizproc.activity.list", "lists.get", "lists.field.get", "profile"}


def calls(stack: Stack) -> dict[str, int]:
    by_method = stack.install.hook("counters", method="GET")["by_method"]
    return {method: row["calls"] for method, row in by_method.items()}


def with_processes(stack: Stack, processes: list[Process]) -> Installer:
    installer = stack.installer()
    installer.processes = processes
    return installer


def test_second_install_sends_no_write(stack: Stack) -> None:
    stack.install.hook("counters/reset")
    changes = stack.installer().install()
    assert changes and not [c for c in changes if c.writes]
    assert set(calls(stack)) <= READS


def test_changing_one_template_updates_only_it(stack: Stack) -> None:
    processes = load_processes()
    changed = next(p for p in processes if p.code == "work_book")
    source = deepcopy(changed.source)
    source["activities"][0]["title"] = "Статус: заявление принято"
    edited = [Process(p.code, source, p.file) if p is changed else p for p in processes]
    stack.install.hook("counters/reset")

    assert [(c.kind, c.code, c.action) for c in with_processes(stack, edited).plan() if c.writes] == [
        ("template", "work_book", "update")]
    stack.install.hook("counters/reset")
    with_processes(stack, edited).install()
    assert {m: n for m, n in calls(stack).items() if m not in READS} == {"bizproc.workflow.template.update": 1}
    assert not [c for c in with_processes(stack, edited).plan() if c.writes]


def test_diff_and_list_commands(stack: Stack) -> None:
    runner = stack.app.test_cli_runner()
    diff = runner.invoke(group, ["diff"])
    assert diff.exit_code == 0, diff.output
    assert "Изменений: 0 из" in diff.output
    listed = runner.invoke(group, ["list"])
    assert listed.exit_code == 0, listed.output
    assert stack.install.member_id in listed.output and "шаблон" in listed.output and "vacation" in listed.output


def test_install_refuses_an_unknown_portal(stack: Stack) -> None:
    result = stack.app.test_cli_runner().invoke(group, ["install", "--portal", "nope"])
    assert result.exit_code != 0 and "не установлено на портале nope" in result.output


def test_app_update_wipes_activities_and_they_come_back(stack: Stack) -> None:
    stack.install.hook(f"apps/{stack.install.client_id}/update", {"version": 2})
    stack.install.hook("events/flush")
    registered = wait_for(lambda: set(stack.admin().call("bizproc.activity.list", {}).result or []) >= set(
        load_app_activities()) and stack.admin().call("bizproc.activity.list", {}).result, "activities after update")
    assert set(registered) == set(load_app_activities())
    stack.install.hook("counters/reset")
    stack.installer().install()
    assert set(calls(stack)) <= READS


def test_a_template_added_without_a_saved_answer_is_adopted_not_added_twice(stack: Stack) -> None:
    """The add went through but our record of it was lost (timeout, crash): rerun finds it by name."""
    import sqlalchemy as sa

    from b24app.db import get_db

    with get_db(stack.app).engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM bizproc_installed_objects WHERE kind = 'template' AND code = 'work_book'"))
    stack.install.hook("counters/reset")
    stack.installer().install()
    writes = {m: n for m, n in calls(stack).items() if m not in READS | {"bizproc.workflow.template.list"}}
    assert writes == {"bizproc.workflow.template.update": 1}
    names = [row["NAME"] for row in stack.admin().call("bizproc.workflow.template.list", {
        "SELECT": ["ID", "NAME"]}).result]
    assert len(names) == len(set(names)) == len(load_processes())
