"""The department's vacation schedule end to end: employees' wishes through the business process, a conflict,
consolidation, approval by the provider manager, ZUP's Document.ГрафикОтпусков in the 1C emulator."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from click.testing import Result

from b24app.bitrix.errors import B24APIError
from bizproc_templates import cli, schedule
from bizproc_templates.settings import bizproc_settings
from bizproc_templates.source import load_processes
from bizproc_templates.zup import open_source
from tests.bizproc_templates.conftest import Stack

PROCESSES = {process.code: process for process in load_processes()}
APPROVE = 1


def colleagues(stack: Stack, count: int) -> list[tuple[int, str]]:
    """Bitrix24 users for ``count`` more people working in the employee's department: (user id, employee ref)."""
    source = open_source(stack.app, bizproc_settings(stack.app))
    try:
        states = list(source.employments())
    finally:
        source.close()
    today = stack.zup.app.store.today
    department = next(s.department_ref for s in states if s.employee_ref == stack.people.employee_ref)
    jobs: dict[str, list[Any]] = {}
    for state in states:
        jobs.setdefault(str(state.person_ref), []).append(state)
    picked = [only for person, (only, *more) in jobs.items() if not more and person != stack.people.person_ref
              and only.department_ref == department and only.is_active(today)][:count]
    assert len(picked) == count, "the generated department has too few people"
    found = []
    for number, state in enumerate(picked):
        user = stack.install.hook("users", {"NAME": f"Коллега{number}", "LAST_NAME": "Складской",
                                            "EMAIL": f"colleague{number}@example.ru", "EXTRANET": True,
                                            "XML_ID": f"zup:{state.person_ref}"})
        stack.admin().call("sonet_group.user.add", {"GROUP_ID": stack.group_id, "USER_ID": [int(user["ID"])]})
        found.append((int(user["ID"]), state.employee_ref))
    return found


def wish(stack: Stack, user_id: int, year: int, *periods: str) -> dict[str, Any]:
    """The employee submits periods; the client manager agrees; the element as the process left it."""
    process = PROCESSES["vacation_schedule"]
    element_id = stack.submit(process, {"YEAR": year, "PERIODS": list(periods)}, user_id=user_id)
    stack.decide(element_id, stack.people.client_manager, APPROVE)
    assert stack.finished(element_id)["STATUS"] == "completed"
    return stack.element(process, element_id)


def run(stack: Stack, *args: str) -> Result:
    return stack.app.test_cli_runner().invoke(cli.group, ["schedule", *args])


def day(year: int, month: int, number: int) -> str:
    return dt.date(year, month, number).strftime("%d.%m.%Y")


def test_wishes_conflict_consolidation_approval_and_the_zup_document(stack: Stack) -> None:
    year = stack.zup.app.store.today.year + 1  # next year by the infobase's clock
    (second, second_ref), (third, third_ref) = colleagues(stack, 2)
    first, first_ref = stack.people.employee, stack.people.employee_ref
    assert wish(stack, first, year, f"{day(year, 7, 1)} — {day(year, 7, 14)}")["PROPERTY_STATUS"] == \
        "Учтено в графике подразделения"
    wish(stack, second, year, f"{day(year, 7, 10)} — {day(year, 7, 23)}")
    collected = wish(stack, third, year, f"{day(year, 8, 1)} — {day(year, 8, 14)}",
                     f"{day(year, 10, 1)} - {day(year, 10, 14)}")
    assert (collected["PROPERTY_STATUS"], collected["PROPERTY_DAYS"]) == ("Учтено в графике подразделения", "28")

    member = stack.install.member_id
    [department] = schedule.departments(stack.app, member, year)
    assert (department.employees, department.periods, department.approval) == (3, 4, None)
    ref = department.department_ref
    consolidated = schedule.consolidation(stack.app, member, ref, year, max_away=1)
    [clash] = schedule.conflict_periods(consolidated)
    assert (clash.start, clash.end, set(clash.away)) == (dt.date(year, 7, 10), dt.date(year, 7, 14),
                                                         {first_ref, second_ref})
    shown = run(stack, "consolidate", "--department", ref, "--year", str(year), "--max-away", "1")
    assert f"Конфликт {day(year, 7, 10)}–{day(year, 7, 14)}: отсутствуют 2 при допустимых 1" in shown.output
    assert "Утвердить нельзя" in shown.output
    refused = run(stack, "approve", "--department", ref, "--year", str(year), "--approved-by", "Пётр Провайдеров")
    assert refused.exit_code != 0 and "нельзя утвердить" in refused.output
    assert not stack.onec("documents", method="GET")  # nothing reached 1C

    wish(stack, second, year, f"{day(year, 7, 15)} — {day(year, 7, 28)}")  # the employee moves the wish
    assert schedule.consolidation(stack.app, member, ref, year, max_away=1).ready
    approved = run(stack, "approve", "--department", ref, "--year", str(year), "--approved-by", "Пётр Провайдеров")
    assert approved.exit_code == 0, approved.output
    [document] = stack.onec("documents", method="GET")
    assert document["set"] == "Document_ГрафикОтпусков" and document["number"] in approved.output
    rows = sorted((r["Сотрудник_Key"], r["ДатаНачала"][:10], r["ДатаОкончания"][:10], r["КоличествоДней"])
                  for r in document["fields"]["Сотрудники"])
    assert rows == sorted([(first_ref, f"{year}-07-01", f"{year}-07-14", 14), (second_ref, f"{year}-07-15",
                                                                               f"{year}-07-28", 14),
                           (third_ref, f"{year}-08-01", f"{year}-08-14", 14),
                           (third_ref, f"{year}-10-01", f"{year}-10-14", 14)])
    assert "утвердил: Пётр Провайдеров" in document["fields"]["Комментарий"]
    assert stack.onec(f"documents/{document['ref']}/post")["status"] == "Согласовано"  # HR posts it
    for user in (first, second, third):
        assert any(f"График отпусков на {year} год утверждён" in text for text in stack.notifications_of(user))

    again = schedule.approve_schedule(stack.app, member, ref, year, 1, "Пётр Провайдеров")
    assert again.zup_ref == document["ref"] and len(stack.onec("documents", method="GET")) == 1
    listed = run(stack, "list", "--year", str(year))
    assert f"утверждён, документ {document['number'].strip()}" in listed.output


def test_a_wish_outside_the_year_is_named_and_not_stored(stack: Stack) -> None:
    year = stack.zup.app.store.today.year + 1
    element = wish(stack, stack.people.employee, year, f"{day(year, 12, 25)} — {day(year + 1, 1, 10)}")
    assert element["PROPERTY_STATUS"] == "Ошибка в периодах"
    assert f"не входит в {year} год" in element["PROPERTY_REJECT_COMMENT"]
    assert schedule.departments(stack.app, stack.install.member_id, year) == []
    assert any("не учтены" in text for text in stack.notifications_of(stack.people.employee))


def test_the_cash_advance_is_issued_by_accounting_not_written_to_payroll(stack: Stack) -> None:
    process = PROCESSES["cash_advance"]
    element_id = stack.submit(process, {"OPERATION": "issue", "AMOUNT": 15000, "PURPOSE": "Командировка на объект"})
    stack.decide(element_id, stack.people.provider_manager, APPROVE)
    stack.decide(element_id, stack.people.accounting, APPROVE)
    task = stack.open_task(element_id, stack.people.accounting)
    assert task["ACTIVITY"] == "RequestInformationActivity"
    assert stack.element(process, element_id)["PROPERTY_STATUS"] == "Передано в бухгалтерию"
    accountant = stack.as_user(stack.people.accounting)
    with pytest.raises(B24APIError):  # the accountant must name the accounting document
        accountant.call("bizproc.task.complete", {"TASK_ID": task["ID"], "STATUS": 3})
    accountant.call("bizproc.task.complete", {"TASK_ID": task["ID"], "STATUS": 3,
                                              "FIELDS": {"accounting_document": "РКО-42"}})
    assert stack.finished(element_id)["STATUS"] == "completed"
    element = stack.element(process, element_id)
    assert (element["PROPERTY_STATUS"], element["PROPERTY_ACCOUNTING_NUMBER"]) == ("Оформлено в бухгалтерии", "РКО-42")
    assert not stack.onec("documents", method="GET")
    messages = stack.notifications_of(stack.people.employee)
    assert any("передана в бухгалтерию" in text for text in messages) and any("РКО-42" in text for text in messages)
