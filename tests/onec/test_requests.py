"""Every process's request lands in the real ZUP 3.1 object, in both modes, for HR to post or reject."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulators.onec.schema import SETS
from emulators.onec.zup31 import REAL_OBJECTS, metadata_name
from onec.errors import OneCConfigError
from onec.models import EmployeeRequest
from onec.source import ZupSource
from onec.targets import NOT_IN_PAYROLL, SCHEDULE_SET, TARGETS, TIMESHEET_SET, target_for

VALUES: dict[str, dict[str, Any]] = {
    "vacation": {"date_from": "2027-03-01", "date_to": "2027-03-14"},
    "vacation_transfer": {"old_date_from": "2027-03-01", "new_date_from": "2027-04-05", "new_date_to": "2027-04-18",
                          "reason": "семейные обстоятельства"},
    "sick_leave": {"date_from": "2027-02-01", "date_to": "2027-02-07", "number": "910000000001"},
    "resignation": {"dismissal_date": "2027-05-31", "reason": "по собственному желанию"},
    "business_trip": {"date_from": "2027-03-10", "date_to": "2027-03-12", "destination": "Казань",
                      "purpose": "аудит склада"},
    "child_tax_deduction": {"year": 2027, "children_count": 2},
    "bank_details": {"bank_name": "Банк", "bik": "044525225", "account": "40817810000000000001"},
    "work_book": {"delivery": "post", "address": "Москва, ул. Ленина, 1"},
    "certificate_2ndfl": {"year": 2026},
    "certificate_182n": {"year": 2026},
}
MODES = ("odata", "soap")


def test_every_process_has_a_real_target_and_no_stand_in() -> None:
    assert set(VALUES) == set(TARGETS)
    written = {target.entity_set for target in TARGETS.values()} | {SCHEDULE_SET, TIMESHEET_SET}
    assert sorted(name for name in written if metadata_name(name) not in REAL_OBJECTS or name not in SETS) == []


def test_a_request_outside_payroll_says_where_it_belongs() -> None:
    with pytest.raises(OneCConfigError, match="бухгалтерской программе"):
        target_for("cash_advance")
    assert "cash_advance" in NOT_IN_PAYROLL


@pytest.fixture()
def employee(make_source: Callable[..., ZupSource], today: dt.date) -> Any:
    return next(s for s in make_source().employments() if s.is_active(today) and s.organization_ref)


def source_in(mode: str, zup: Any, make_source: Callable[..., ZupSource]) -> ZupSource:
    return make_source(mode="soap", url=zup.wsdl_url) if mode == "soap" else make_source()


def request(kind: str, state: Any, link: str) -> EmployeeRequest:
    return EmployeeRequest(kind, state.person_ref, state.employee_ref, state.organization_ref, link, VALUES[kind])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_request_becomes_the_real_document_hr_can_post(mode: str, kind: str, zup: Any, hooks: Any,
                                                       make_source: Callable[..., ZupSource], employee: Any) -> None:
    source = source_in(mode, zup, make_source)
    link = f"https://portal.example/company/lists/7/element/0/{kind}/"
    created = source.submit_request(request(kind, employee, link))
    [document] = [d for d in hooks("GET", "documents") if d["ref"] == created.ref]
    assert document["set"] == TARGETS[kind].entity_set and document["number"] == created.number
    assert document["fields"]["Posted"] is False and link in document["fields"]["Комментарий"]
    assert source.request_status(created).status == "Рассматривается"
    assert hooks("POST", f"documents/{created.ref}/post")["status"] == "Согласовано"  # every required field is set
    assert source.request_status(created).status == "Согласовано"


@pytest.mark.parametrize("mode", MODES)
def test_hr_rejection_flows_back_with_its_comment_and_a_resend_writes_nothing(
        mode: str, zup: Any, hooks: Any, make_source: Callable[..., ZupSource], employee: Any) -> None:
    source = source_in(mode, zup, make_source)
    sent = request("vacation", employee, "https://portal.example/company/lists/7/element/0/42/")
    created = source.submit_request(sent)
    assert source.submit_request(sent) == created
    hooks("POST", f"documents/{created.ref}/reject", {"comment": "В марте инвентаризация"})
    status = source.request_status(created)
    assert (status.status, status.comment) == ("Отклонено", "В марте инвентаризация")
    assert len([d for d in hooks("GET", "documents") if d["set"] == "Document_Отпуск"]) == 1


@pytest.mark.parametrize("mode", MODES)
def test_certificates_return_the_file_1c_produced(mode: str, zup: Any, hooks: Any,
                                                  make_source: Callable[..., ZupSource], employee: Any) -> None:
    source = source_in(mode, zup, make_source)
    for kind in ("certificate_2ndfl", "certificate_182n"):
        created = source.submit_request(request(kind, employee, f"https://portal.example/{kind}"))
        hooks("POST", f"documents/{created.ref}/post")
        if mode == "odata":  # the standard interface has no printed forms: the error says to use SOAP
            with pytest.raises(OneCConfigError, match="mode: soap"):
                source.request_document(created)
            continue
        document = source.request_document(created)
        assert document.mime == "application/pdf" and document.content.startswith(b"%PDF-")


def test_a_missing_request_value_is_a_clear_error(make_source: Callable[..., ZupSource], employee: Any) -> None:
    with pytest.raises(OneCConfigError, match="date_to"):
        make_source().submit_request(EmployeeRequest("vacation", employee.person_ref, employee.employee_ref,
                                                     employee.organization_ref, "https://b24/x",
                                                     {"date_from": "2027-03-01"}))


@pytest.mark.parametrize("mode", MODES)
def test_a_statement_is_executed_not_posted_and_hr_answer_flows_back(
        mode: str, zup: Any, hooks: Any, make_source: Callable[..., ZupSource], employee: Any) -> None:
    source = source_in(mode, zup, make_source)
    created = source.submit_request(request("bank_details", employee, "https://portal.example/element/0/77/"))
    [document] = [d for d in hooks("GET", "documents") if d["ref"] == created.ref]
    fields = document["fields"]
    assert (fields["НаименованиеБанка"], fields["БИК"], fields["НомерСчета"]) == (
        "Банк", "044525225", "40817810000000000001")
    assert (fields["Сотрудник_Key"], fields["ФизическоеЛицо_Key"]) == (employee.employee_ref, employee.person_ref)
    set_name = TARGETS["bank_details"].entity_set
    credentials = (zup.login.encode(), zup.password.encode())  # 1C takes the Cyrillic login as UTF-8
    refused = requests.post(f"{zup.odata_url}{set_name}(guid'{created.ref}')/Post()", auth=credentials, timeout=10)
    assert refused.status_code >= 400 and "не проводятся" in refused.text  # Posting = Deny, as in ZUP
    zup.app.store.update(set_name, created.ref, {"ОтветПоЗаявке": "Счёт будет учтён с 1-го числа"})
    hooks("POST", f"documents/{created.ref}/post")  # HR marks it Выполнена
    status = source.request_status(created)
    assert (status.status, status.comment) == ("Согласовано", "Счёт будет учтён с 1-го числа")


@pytest.mark.parametrize(("values", "message"), [
    ({"bank_name": "Банк", "bik": "04452522", "account": "40817810000000000001"}, "БИК должен состоять из 9 цифр"),
    ({"bank_name": "Банк", "bik": "044525225", "account": "4081781000"}, "номер счёта должен состоять из 20 цифр")])
def test_bank_details_are_checked_before_1c_sees_them(values: dict[str, str], message: str,
                                                      make_source: Callable[..., ZupSource], employee: Any) -> None:
    with pytest.raises(OneCConfigError, match=message):
        make_source().submit_request(EmployeeRequest("bank_details", employee.person_ref, employee.employee_ref,
                                                     employee.organization_ref, "https://b24/y", values))


@pytest.mark.parametrize("mode", MODES)
def test_one_persons_employments_cost_one_request_and_match_the_full_read(
        mode: str, zup: Any, hooks: Any, make_source: Callable[..., ZupSource], today: dt.date) -> None:
    source = source_in(mode, zup, make_source)
    everyone = list(source.employments())
    person = next(s.person_ref for s in everyone if s.is_active(today) and s.person_ref)
    hooks("POST", "counters/reset")
    found = source.employments_of(str(person))
    assert hooks("GET", "counters")["requests"] == 1
    assert sorted(found, key=lambda s: s.employee_ref) == sorted(
        (s for s in everyone if s.person_ref == person), key=lambda s: s.employee_ref)


@pytest.mark.parametrize("mode", MODES)
def test_a_persons_documents_are_listed_with_their_state_newest_first(
        mode: str, zup: Any, hooks: Any, make_source: Callable[..., ZupSource], employee: Any) -> None:
    source = source_in(mode, zup, make_source)
    vacation = source.submit_request(request("vacation", employee, "https://portal.example/element/0/1/"))
    deduction = source.submit_request(request("child_tax_deduction", employee, "https://portal.example/element/0/2/"))
    statement = source.submit_request(request("bank_details", employee, "https://portal.example/element/0/3/"))
    hooks("POST", f"documents/{vacation.ref}/post")
    hooks("POST", f"documents/{statement.ref}/reject", {"comment": "Счёт закрыт"})
    hooks("POST", "counters/reset")
    mine = (str(employee.person_ref), [employee.employee_ref])
    listed = {document.ref: document for document in source.documents_of(*mine)}
    assert hooks("GET", "counters")["requests"] == (len(TARGETS) if mode == "odata" else 1)
    assert (listed[vacation.ref].kind, listed[vacation.ref].number, listed[vacation.ref].status) == (
        "vacation", vacation.number, "Согласовано")
    assert (listed[deduction.ref].kind, listed[deduction.ref].status) == ("child_tax_deduction", "Рассматривается")
    assert (listed[statement.ref].status, listed[statement.ref].comment) == ("Отклонено", "Счёт закрыт")
    dates = [document.date for document in source.documents_of(*mine)]
    assert dates == sorted(dates, reverse=True) and all(dates)
    someone_else = next(s for s in source.employments() if s.person_ref and s.person_ref != employee.person_ref)
    assert not {vacation.ref, deduction.ref, statement.ref} & {
        document.ref for document in source.documents_of(str(someone_else.person_ref), [someone_else.employee_ref])}
