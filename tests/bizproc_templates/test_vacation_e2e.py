"""A vacation request from an extranet employee, end to end on both emulators."""
from __future__ import annotations

from bizproc_templates.source import PROCESSES_DIR, load_process
from tests.bizproc_templates.conftest import Stack

VACATION = load_process(PROCESSES_DIR / "vacation.yaml")
REQUEST = {"DATE_FROM": "2027-03-01", "DATE_TO": "2027-03-14", "VACATION_KIND": "annual", "COMMENT": "на море"}
APPROVE, REJECT = 1, 2


def vacation_documents(stack: Stack) -> list[dict]:
    return [d for d in stack.onec("documents", method="GET") if d["set"] == "Document_Отпуск"]


def test_vacation_request_runs_end_to_end(stack: Stack) -> None:
    people = stack.people
    element_id = stack.submit(VACATION, REQUEST)

    client_task = stack.decide(element_id, people.client_manager, APPROVE)
    assert "Остаток отпуска по данным 1С:ЗУП:" in client_task["NAME"] or client_task["ACTIVITY"] == "ApproveActivity"
    balance = stack.element(VACATION, element_id)["PROPERTY_BALANCE"]
    assert balance is not None and float(balance) >= 0
    assert not vacation_documents(stack)  # nothing reaches 1C before both approvals
    stack.decide(element_id, people.provider_manager, APPROVE)

    workflow = stack.finished(element_id)
    assert workflow["STATUS"] == "completed"
    [document] = vacation_documents(stack)
    assert document["fields"]["Сотрудник_Key"] == people.employee_ref
    assert document["fields"]["ДатаНачалаОсновногоОтпуска"].startswith("2027-03-01")
    assert document["fields"]["КоличествоДнейОсновногоОтпуска"] == 14
    assert f"/element/0/{element_id}/" in document["fields"]["Комментарий"]
    assert document["fields"]["Posted"] is False  # HR checks and posts it in 1C
    element = stack.element(VACATION, element_id)
    assert element["PROPERTY_STATUS"] == "Передано в 1С"
    assert element["PROPERTY_ZUP_NUMBER"] == document["number"]
    assert any(document["number"] in text and "зарегистрировано" in text for text in stack.notifications_of(people.employee))


def test_rejection_by_the_client_manager_stops_the_request(stack: Stack) -> None:
    people = stack.people
    element_id = stack.submit(VACATION, REQUEST)
    stack.decide(element_id, people.client_manager, REJECT, "в марте инвентаризация")

    workflow = stack.finished(element_id)
    assert workflow["STATUS"] == "completed"
    element = stack.element(VACATION, element_id)
    assert element["PROPERTY_STATUS"] == "Отклонено"
    assert element["PROPERTY_REJECT_COMMENT"] == "в марте инвентаризация"
    assert not vacation_documents(stack)
    tasks = stack.install.hook("bizproc/tasks", method="GET")["tasks"]
    assert not [t for t in tasks if t["WORKFLOW_ID"] == workflow["ID"] and str(people.provider_manager) in map(str, t["USERS"])]
    assert any("отклонено" in text for text in stack.notifications_of(people.employee))


def test_onec_down_is_retried_then_the_activity_gets_an_error_value(stack: Stack) -> None:
    stack.onec("faults", {"kind": "drop", "set": "GetVacationBalance"})
    stack.onec("counters/reset")
    element_id = stack.submit(VACATION, REQUEST)

    stack.open_task(element_id, stack.people.client_manager)  # the process goes on without a balance
    workflow = stack.workflow(element_id)
    balance_log = [entry for entry in workflow["LOG"] if "1С:ЗУП" in entry["message"]]
    assert balance_log and "попыток: 2" in balance_log[-1]["message"]
    counters = stack.onec("counters", method="GET")
    assert counters["by_operation"]["GetVacationBalance"] == 2  # one call per worker attempt
    with stack.install.app.extensions["b24app.db"].engine.connect() as conn:
        items = [tuple(i) for i in conn.exec_driver_sql(
            "SELECT attempts, status FROM inbox_items WHERE name = 'zup_vacation_balance'")]
    assert items == [(2, "done")]
    results = next(iter(r for r in workflow["RESULTS"].values() if "days" in r))
    assert results["error"].startswith("Не удалось получить ответ")


def test_a_lost_answer_is_retried_and_1c_still_gets_one_document(stack: Stack) -> None:
    """Writes are keyed by the request's link: the retry finds what an earlier attempt wrote."""
    people = stack.people
    stack.onec("faults", {"kind": "drop", "set": "WriteDocument", "count": 1})
    stack.onec("counters/reset")
    element_id = stack.submit(VACATION, REQUEST)
    stack.decide(element_id, people.client_manager, APPROVE)
    stack.decide(element_id, people.provider_manager, APPROVE)
    workflow = stack.finished(element_id)
    assert workflow["STATUS"] == "completed"
    assert stack.onec("counters", method="GET")["by_operation"]["WriteDocument"] == 2
    assert len(vacation_documents(stack)) == 1
    assert stack.element(VACATION, element_id)["PROPERTY_STATUS"] == "Передано в 1С"
