"""Local regulations: an act published to employees, acknowledged by one, reported for the rest."""
from __future__ import annotations

from click.testing import CliRunner
from flask.cli import ScriptInfo

from bizproc_templates.acts import ActsList
from bizproc_templates.cli import acts_publish, acts_report
from tests.bizproc_templates.conftest import Stack

REVIEWED = 3  # bizproc.task.complete STATUS for «ознакомлен» (ok)


def test_report_names_who_has_not_acknowledged_the_act(stack: Stack) -> None:
    people = stack.people
    readers = [people.employee, people.hr, people.accounting]
    acts = ActsList(stack.admin())
    assert acts.publish("ПВТР-2026", "Правила внутреннего трудового распорядка", 1, readers, "2027-01-31") == 3
    element_of = {r.user_id: r for r in acts.report("ПВТР-2026")}
    assert set(element_of) == set(readers) and not any(r.acknowledged for r in element_of.values())

    elements = stack.admin().get_all("lists.element.get", {**acts.target, "FILTER": {}, "SELECT": ["ID", "CODE"]})
    mine = next(e for e in elements if e["CODE"] == f"lna-ПВТР-2026-{people.employee}")
    stack.decide(int(mine["ID"]), people.employee, REVIEWED)
    stack.finished(int(mine["ID"]))

    report = {r.user_id: r for r in acts.report("ПВТР-2026")}
    assert report[people.employee].acknowledged and report[people.employee].acknowledged_at
    assert not report[people.hr].acknowledged and not report[people.accounting].acknowledged
    assert report[people.hr].name  # names come from the portal
    assert acts.publish("ПВТР-2026", "Правила внутреннего трудового распорядка", 1, readers) == 0
    assert acts.report("ДРУГОЙ-АКТ") == []


def test_acts_commands(stack: Stack) -> None:
    info = ScriptInfo(create_app=lambda: stack.app)
    runner = CliRunner()
    users = f"{stack.people.hr},{stack.people.accounting}"
    result = runner.invoke(acts_publish, ["--act", "ОТ-1", "--title", "Охрана труда", "--file-id", "1",
                                          "--users", users], obj=info)
    assert result.exit_code == 0, result.output
    assert "отправлен на ознакомление 2" in result.output
    result = runner.invoke(acts_report, ["--act", "ОТ-1"], obj=info)
    assert result.exit_code == 0, result.output
    assert "ознакомлены 0 из 2" in result.output and result.output.count("не ознакомлен(а)") == 2
    assert runner.invoke(acts_publish, ["--act", "ОТ-1", "--title", "x", "--file-id", "1"], obj=info).exit_code != 0
