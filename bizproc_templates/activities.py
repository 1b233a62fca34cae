"""What each app activity does (worker side): ask 1C:ZUP or the mapping, return the RETURN_VALUES.

A work function takes an :class:`ActivityCall` and returns an :class:`Answer`; it raises
:class:`NotReady` for what is worth trying again later (1C unreachable, document not yet prepared)
and any other error for what will not get better (see ``classify``). Sending the answer, retries
and the at-most-once guarantee live in ``handlers/activities.py``.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
from flask import Flask

from b24app.bitrix.errors import B24APIError, B24Error, B24RefusedError, B24TransportError
from b24app.db import get_db
from b24app.install_steps import RestCaller
from b24app.portal import get_store
from bizproc_templates.approvers import SUBSTITUTES, PortalDirectory, SyncDirectory, resolve_slots, substituted
from bizproc_templates.catalog import load_app_activities
from bizproc_templates.compiler import IBLOCK_TYPE_ID
from bizproc_templates.employee_documents import save_for_employee
from bizproc_templates.settings import BizprocSettings
from bizproc_templates.schedule import ScheduleError, WishSubmission, parse_periods, store_wishes
from bizproc_templates.zup import UnknownEmployee, employee_of, open_source, person_ref_of
from onec.errors import OneCError, Transient
from onec.models import EmployeeRequest, RequestRef
from onec.source import ZupSource
from sync_jobs.directory import directory as sync_directory

ROLE_LABELS = {"client_manager": "менеджер клиента", "provider_manager": "менеджер провайдера",
               "hr": "кадровая служба", "accounting": "бухгалтерия"}
PENDING_STATUSES = ("", "Рассматривается")  # a certificate is not prepared while the request is pending
REQUEST_VALUES: dict[str, dict[str, str]] = {  # list field CODE -> EmployeeRequest value (onec.targets)
    "vacation": {"DATE_FROM": "date_from", "DATE_TO": "date_to"},
    "vacation_transfer": {"OLD_DATE_FROM": "old_date_from", "NEW_DATE_FROM": "new_date_from",
                          "NEW_DATE_TO": "new_date_to", "REASON": "reason"},
    "sick_leave": {"DATE_FROM": "date_from", "DATE_TO": "date_to", "SICK_LIST_NUMBER": "number"},
    "resignation": {"DISMISSAL_DATE": "dismissal_date", "REASON": "reason"},
    "business_trip": {"DATE_FROM": "date_from", "DATE_TO": "date_to", "DESTINATION": "destination",
                      "PURPOSE": "purpose"},
    "child_tax_deduction": {"YEAR": "year", "CHILDREN_COUNT": "children_count"},
    "bank_details": {"BANK_NAME": "bank_name", "BIK": "bik", "ACCOUNT": "account"},
    "work_book": {"DELIVERY": "delivery", "ADDRESS": "address"},
    "certificate_2ndfl": {"PERIOD": "year"},
    "certificate_182n": {"PERIOD": "year"},
}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S", "%d.%m.%Y %H:%M:%S")


class NotReady(Exception):
    """The answer may come later: 1C is unreachable or the document is not prepared yet."""


class BadInput(ValueError):
    """The activity's properties or the list element are unusable."""


@dataclass(frozen=True)
class Answer:
    """RETURN_VALUES and the Russian LOG_MESSAGE of one activity call."""

    values: dict[str, Any]
    log_message: str
    ok: bool = True

    @classmethod
    def error(cls, message: str) -> Answer:
        return cls({"error": message}, message, ok=False)


@dataclass
class ActivityCall:
    """One callback from the portal, with what the work needs; the 1C source is opened on first use."""

    app: Flask
    client: RestCaller
    member_id: str
    properties: Mapping[str, Any]
    document_id: list[str]
    document_type: list[str]
    settings: BizprocSettings
    _source: ZupSource | None = field(default=None, repr=False)

    @property
    def source(self) -> ZupSource:
        if self._source is None:
            self._source = open_source(self.app, self.settings)
        return self._source

    def close(self) -> None:
        if self._source is not None:
            self._source.close()

    def text(self, name: str) -> str:
        value = self.properties.get(name)
        value = value[0] if isinstance(value, list) and value else value
        return "" if value is None else str(value).strip()

    def user(self, name: str) -> int:
        text = self.text(name).removeprefix("user_")
        if not text.isdigit():
            raise BadInput(f"в свойстве {name} не указан пользователь")
        return int(text)

    def date(self, name: str) -> dt.date:
        return parse_date(self.text(name), name)


Work = Callable[[ActivityCall], Answer]


def parse_date(text: str, name: str) -> dt.date:
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise BadInput(f"в свойстве {name} неверная дата «{text}»")


def classify(error: Exception) -> Exception:
    """NotReady for failures worth retrying, the error itself otherwise.

    ``requests`` errors count as transient: the connector lets some through (a dropped SOAP answer
    surfaces as ChunkedEncodingError).
    """
    retryable = isinstance(error, (Transient, B24TransportError, B24RefusedError, requests.RequestException))
    return NotReady(f"1С:ЗУП или Битрикс24 недоступны: {error}") if retryable else error


def failure_text(error: Exception) -> str:
    """A Russian description of a final failure (no personal data: 1C texts name sets and refs only)."""
    if isinstance(error, (BadInput, UnknownEmployee, ScheduleError)):
        return f"Неверные данные: {error}"
    if isinstance(error, OneCError):
        return f"1С:ЗУП отказала: {error}"
    if isinstance(error, B24APIError):
        return f"Битрикс24 отказал: {error.code} {error.description}".strip()
    if isinstance(error, NotReady):
        return f"Не удалось получить ответ за отведённое время: {error}"
    return f"Ошибка настройки или данных: {error}"


# -- b24app_resolve_approvers ------------------------------------------------------------------


def resolve_approvers(call: ActivityCall) -> Answer:
    process = call.text("process")
    slots = [str(role) for role in _as_list(call.properties.get("roles")) if str(role) in ROLE_LABELS]
    if not process or not slots:
        raise BadInput("не указаны процесс или роли согласующих")
    portal = PortalDirectory(call.client)
    directory = SyncDirectory(sync_directory(call.app), portal)
    employee = call.user("employee")
    resolution, replaced = substituted(
        resolve_slots(process, slots, directory.workplace(employee), call.settings, _fallback(call)),
        call.app.extensions.get(SUBSTITUTES), call.member_id, employee)
    values: dict[str, Any] = {slot: [f"user_{i}" for i in ids] for slot, ids in resolution.users.items()}
    found = "; ".join(f"{ROLE_LABELS[slot]}: {', '.join(map(str, ids))}" for slot, ids in resolution.users.items())
    if replaced:
        found += "; замещают отсутствующих: " + ", ".join(f"{by} вместо {away}" for away, by in sorted(replaced.items()))
    if not resolution.unresolved:
        return Answer(values, f"Согласующие определены ({found})")
    missing = ", ".join(ROLE_LABELS[slot] for slot in resolution.unresolved)
    message = f"Не найдены согласующие ({missing}); назначены резервные согласующие ({found})"
    return Answer(values | {"error": message}, message)


def _fallback(call: ActivityCall) -> tuple[int, ...]:
    configured = call.settings.roles.get("fallback")
    if configured:
        return configured
    installation = get_store(call.app).find(member_id=call.member_id)
    return (installation.admin_user_id or 1,) if installation is not None else (1,)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


# -- zup_vacation_balance ----------------------------------------------------------------------


def vacation_balance(call: ActivityCall) -> Answer:
    on_date = call.date("date")
    employee = employee_of(call.source, person_ref_of(call.app, call.client, call.user("employee")), on_date)
    balance = call.source.vacation_balance(employee.employee_ref, on_date)
    days = round(balance.days, 2)
    return Answer({"days": days, "error": ""}, f"Остаток отпуска по данным 1С:ЗУП на {on_date:%d.%m.%Y}: {days:g} дн.")


# -- zup_register_request ----------------------------------------------------------------------


def register_request(call: ActivityCall) -> Answer:
    request_type = call.text("request_type")
    options = load_app_activities()["zup_register_request"].payload["PROPERTIES"]["request_type"]["Options"]
    if request_type not in options:
        raise BadInput(f"неизвестный вид заявления «{request_type}»")
    element = read_element(call.client, call.document_id, call.document_type)
    employee = employee_of(call.source, person_ref_of(call.app, call.client, call.user("employee")), dt.date.today())
    request = EmployeeRequest(call.settings.onec_type(request_type), employee.person_ref, employee.employee_ref,
                              employee.organization_ref, element_link(call, element),
                              element.request_values(REQUEST_VALUES.get(request_type, {})))
    created = call.source.submit_request(request)  # keyed by the element's link: a retry finds it in 1C
    return Answer({"ref": created.ref, "number": created.number, "error": ""},
                  f"Заявление «{options[request_type]}» зарегистрировано в 1С:ЗУП под номером {created.number}")


def element_link(call: ActivityCall, element: ListElement) -> str:
    """The list element's page in the portal: the key of the request in 1C (a resend finds it)."""
    installation = get_store(call.app).find(member_id=call.member_id)
    domain = installation.domain if installation is not None else call.member_id
    iblock = str(call.document_type[2]).removeprefix("iblock_")
    return f"https://{domain}/company/lists/{iblock}/element/0/{element.element_id}/"


@dataclass(frozen=True)
class ListElement:
    """A list element as (CODE -> (field name, display text)), for the 1C document."""

    element_id: str
    name: str
    values: dict[str, tuple[str, str]]

    def text(self, code: str) -> str:
        """The display text of a field (multiple values joined with ", ")."""
        return self.values.get(code, ("", ""))[1]

    def request_values(self, mapping: Mapping[str, str]) -> dict[str, str]:
        """The element's values under their EmployeeRequest names; dates as ISO dates."""
        result = {}
        for code, name in mapping.items():
            text = self.values.get(code, ("", ""))[1]
            if text:
                result[name] = parse_date(text, code).isoformat() if "DATE" in code else text
        return result


def read_element(client: RestCaller, document_id: list[str], document_type: list[str]) -> ListElement:
    if len(document_id) != 3 or len(document_type) != 3 or not str(document_type[2]).startswith("iblock_"):
        raise BadInput("документ процесса не является элементом списка")
    target = {"IBLOCK_TYPE_ID": IBLOCK_TYPE_ID, "IBLOCK_ID": str(document_type[2]).removeprefix("iblock_")}
    definitions = client.call("lists.field.get", target).result or {}
    select = ["ID", "NAME", *definitions]  # lists.element.get returns only ID unless SELECT names the fields
    rows = client.call("lists.element.get", {**target, "ELEMENT_ID": document_id[2], "SELECT": select}).result or []
    if not rows:
        raise BadInput(f"элемент списка {document_id[2]} не найден")
    values = {str(spec["CODE"]): (str(spec.get("NAME", "")), _display(rows[0].get(field_id), spec))
              for field_id, spec in definitions.items() if spec.get("CODE")}
    return ListElement(str(document_id[2]), str(rows[0].get("NAME", "")), values)


def _display(raw: Any, spec: Mapping[str, Any]) -> str:
    values = list(raw.values()) if isinstance(raw, dict) else _as_list(raw)
    labels = spec.get("DISPLAY_VALUES_FORM") or {}
    return ", ".join(str(labels.get(str(value), value)) for value in values)


# -- b24app_store_vacation_wishes ---------------------------------------------------------------


def store_vacation_wishes(call: ActivityCall) -> Answer:
    """The employee's periods (list element of ``vacation_schedule``) kept for the department's schedule."""
    element = read_element(call.client, call.document_id, call.document_type)
    year = _schedule_year(element.text("YEAR"))
    user_id = call.user("employee")
    employee = employee_of(call.source, person_ref_of(call.app, call.client, user_id), dt.date.today())
    submission = WishSubmission(call.member_id, year, user_id, employee, parse_periods(element.text("PERIODS")),
                                element.text("COMMENT"), element_link(call, element))
    wishes = store_wishes(get_db(call.app), submission)
    days = sum(wish.days for wish in wishes)
    return Answer({"days": days, "error": ""},
                  f"Пожелания в график отпусков на {year} год учтены: периодов {len(wishes)}, дней {days}")


def _schedule_year(text: str) -> int:
    found = re.fullmatch(r"\s*((?:19|20)\d{2})(?:[.,]0+)?\s*", text)
    if found is None:
        raise BadInput(f"год графика указан неверно: «{text}»")
    return int(found.group(1))


# -- zup_request_status / zup_request_document --------------------------------------------------


def request_status(call: ActivityCall) -> Answer:
    status = call.source.request_status(_request_ref(call))
    return Answer({"status": status.status, "comment": status.comment, "error": ""},
                  f"Статус заявления {status.number} в 1С:ЗУП: {status.status}")


def request_document(call: ActivityCall) -> Answer:
    ref = _request_ref(call)
    status = call.source.request_status(ref)
    if status.status in PENDING_STATUSES:
        raise NotReady(f"документ по заявлению {status.number} ещё не подготовлен в 1С:ЗУП")
    document = call.source.request_document(ref)
    file_id = save_for_employee(call.client, call.settings.employee_documents, call.user("employee"), document.name,
                                document.content)
    return Answer({"file_id": file_id, "file_name": document.name, "error": ""},
                  f"Файл «{document.name}» из 1С:ЗУП сохранён в документах сотрудника и приложен к заявлению")


def _request_ref(call: ActivityCall) -> RequestRef:
    ref = call.text("ref")
    if not ref:
        raise BadInput("не указана ссылка на документ 1С")
    return RequestRef(kind="", ref=ref, number="")


WORK: dict[str, Work] = {
    "b24app_resolve_approvers": resolve_approvers,
    "zup_vacation_balance": vacation_balance,
    "zup_register_request": register_request,
    "b24app_store_vacation_wishes": store_vacation_wishes,
    "zup_request_status": request_status,
    "zup_request_document": request_document,
}


def perform(work: Work, call: ActivityCall) -> Answer:
    """Run the work; NotReady for retryable failures, an error Answer for final ones."""
    try:
        return work(call)
    except NotReady:
        raise
    except (OneCError, B24Error, BadInput, UnknownEmployee, ValueError,
            requests.RequestException) as error:
        classified = classify(error)
        if isinstance(classified, NotReady):
            raise classified from error
        return Answer.error(failure_text(error))
    finally:
        call.close()
