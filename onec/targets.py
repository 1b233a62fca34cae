"""Where each employee request lands in 1C:ZUP 3.1, with the real object's attribute names.

Every request becomes the object HR would otherwise fill in by hand: an HR document written
unposted (HR checks, completes and posts it) or, where ZUP keeps the employee's own statement
as a document of 1C:Кабинет сотрудника and no HR document exists, that statement. The request's
Bitrix24 link goes into ``Комментарий`` (the first line, ``LINK_PREFIX``); HR's answer is what
HR adds below it. The mapping, with the source of every name, is docs/onec-extension.md,
section 6.

A request whose object lives outside payroll (the cash advance belongs to the accounting system)
has no target here: ``target_for`` raises a clear error instead of writing a stand-in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from onec.errors import OneCConfigError
from onec import normalize
from onec.models import EmployeeRequest, PersonDocument, RequestRef, Timesheet
from onec.vacation_schedule import SCHEDULE_PREFIX, ApprovedSchedule, schedule_fields

COMMENT_FIELD = "Комментарий"
LINK_PREFIX = "Заявка Битрикс24: "
DETAIL_PREFIX = "Битрикс24: "

Fields = dict[str, Any]


@dataclass(frozen=True)
class Target:
    """One process: the ZUP object (OData entity set) and how the request fills it."""

    kind: str
    entity_set: str
    build: Callable[[EmployeeRequest], Fields]
    produces_file: bool = False
    posted: bool = True  # False: a Кабинет сотрудника statement (Posting = Deny), accepted by HR as Выполнена


def comment(request: EmployeeRequest, *details: str) -> str:
    """The Bitrix24 link, then the request's details HR reads (one line each)."""
    lines = [LINK_PREFIX + request.link] + [DETAIL_PREFIX + line for line in details if line]
    return "\n".join(lines)


def hr_comment(text: str) -> str:
    """What HR wrote into ``Комментарий`` below the lines this connector wrote."""
    ours = (LINK_PREFIX, DETAIL_PREFIX)
    return "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith(ours)).strip()


def day(value: Any) -> str:
    """A 1C date literal from a date or an ISO string."""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
    return dt.date.fromisoformat(text).isoformat() + "T00:00:00"


def calendar_days(start: Any, end: Any) -> float:
    return float((dt.date.fromisoformat(day(end)[:10]) - dt.date.fromisoformat(day(start)[:10])).days + 1)


def _employee(request: EmployeeRequest) -> Fields:
    if not request.organization_ref:
        raise OneCConfigError("у сотрудника в 1С:ЗУП не указана организация")
    return {"Организация_Key": request.organization_ref, "Сотрудник_Key": request.employee_ref}


def _value(request: EmployeeRequest, name: str) -> Any:
    value = request.values.get(name)
    if value in (None, ""):
        raise OneCConfigError(f"в заявлении не заполнено поле «{name}»")
    return value


def vacation(request: EmployeeRequest) -> Fields:
    start, end = _value(request, "date_from"), _value(request, "date_to")
    return {**_employee(request), "ПредоставитьОсновнойОтпуск": True,
            "ДатаНачалаОсновногоОтпуска": day(start), "ДатаОкончанияОсновногоОтпуска": day(end),
            "КоличествоДнейОсновногоОтпуска": calendar_days(start, end), COMMENT_FIELD: comment(request)}


def vacation_transfer(request: EmployeeRequest) -> Fields:
    start, end = _value(request, "new_date_from"), _value(request, "new_date_to")
    kind = request.values.get("vacation_kind_ref")  # 1C fills Основной when it is not written
    return {**_employee(request), "ФизическоеЛицо_Key": request.person_ref,
            **({"ВидОтпуска_Key": kind} if kind else {}),
            "ИсходнаяДатаНачала": day(_value(request, "old_date_from")), "ПереносПоИнициативеСотрудника": True,
            "ПричинаПереноса": str(request.values.get("reason") or ""),
            "Переносы": [{"ДатаНачала": day(start), "ДатаОкончания": day(end),
                          "КоличествоДней": calendar_days(start, end)}],
            COMMENT_FIELD: comment(request)}


def sick_leave(request: EmployeeRequest) -> Fields:
    return {**_employee(request), "ДатаНачала": day(_value(request, "date_from")),
            "ДатаОкончания": day(_value(request, "date_to")),
            "НомерЛисткаНетрудоспособности": str(request.values.get("number") or ""),
            COMMENT_FIELD: comment(request)}


def resignation(request: EmployeeRequest) -> Fields:
    return {**_employee(request), "ДатаУвольнения": day(_value(request, "dismissal_date")),
            COMMENT_FIELD: comment(request, f"причина: {request.values.get('reason') or 'не указана'}")}


def business_trip(request: EmployeeRequest) -> Fields:
    return {**_employee(request), "ДатаНачала": day(_value(request, "date_from")),
            "ДатаОкончания": day(_value(request, "date_to")),
            COMMENT_FIELD: comment(request, f"место назначения: {request.values.get('destination') or ''}",
                                   f"цель: {request.values.get('purpose') or ''}")}


def child_tax_deduction(request: EmployeeRequest) -> Fields:
    """The statement's person is its «Сотрудник» (CatalogRef.ФизическиеЛица), the month its «Месяц»."""
    year = _year(request)
    return {"Сотрудник_Key": request.person_ref, **_organization(request), "Месяц": f"{year:04d}-01-01T00:00:00",
            COMMENT_FIELD: comment(request, f"детей: {request.values.get('children_count') or ''}")}


def _organization(request: EmployeeRequest) -> Fields:
    if not request.organization_ref:
        raise OneCConfigError("у сотрудника в 1С:ЗУП не указана организация")
    return {"Организация_Key": request.organization_ref}


def _statement(request: EmployeeRequest) -> Fields:
    """Who files a Кабинет сотрудника statement: the employee, the person, the organisation."""
    return {**_employee(request), "ФизическоеЛицо_Key": request.person_ref}


def bank_details(request: EmployeeRequest) -> Fields:
    bik = _digits(request, "bik", 9, "БИК")
    account = _digits(request, "account", 20, "номер счёта")
    return {**_statement(request), "НаименованиеБанка": str(_value(request, "bank_name"))[:100], "БИК": bik,
            "НомерСчета": account, COMMENT_FIELD: comment(request)}


def _digits(request: EmployeeRequest, name: str, length: int, title: str) -> str:
    text = re.sub(r"\s", "", str(_value(request, name)))
    if not re.fullmatch(rf"\d{{{length}}}", text):
        raise OneCConfigError(f"{title} должен состоять из {length} цифр")
    return text


def work_book(request: EmployeeRequest) -> Fields:
    text = (f"Прошу направить мне трудовую книжку. Способ: {request.values.get('delivery') or 'не указан'}. "
            f"Адрес: {request.values.get('address') or 'не указан'}.")
    return {**_statement(request), "ТекстЗаявления": text, COMMENT_FIELD: comment(request)}


def certificate_2ndfl(request: EmployeeRequest) -> Fields:
    return {"Организация_Key": request.organization_ref, "ФизическоеЛицо_Key": request.person_ref,
            "НалоговыйПериод": float(_year(request)), COMMENT_FIELD: comment(request)}


def _year(request: EmployeeRequest) -> int:
    """The four-digit year in the request's ``year`` value («2026», «за 2026 год»)."""
    found = re.search(r"\b(19|20)\d{2}\b", str(_value(request, "year")))
    if found is None:
        raise OneCConfigError(f"в заявлении не указан год: «{request.values['year']}»")
    return int(found.group())


def certificate_182n(request: EmployeeRequest) -> Fields:
    """The two calendar years before the request's year and that year (ГодС, ГодПо are ShowError); HR fills
    the person's name and СНИЛС from the employee («Заполнить») before posting."""
    year = _year(request)
    return {**_employee(request), "ФизическоеЛицо_Key": request.person_ref, "ГодС": float(year - 2),
            "ГодПо": float(year), COMMENT_FIELD: comment(request)}


TARGETS: dict[str, Target] = {target.kind: target for target in (
    Target("vacation", "Document_Отпуск", vacation),
    Target("vacation_transfer", "Document_ПереносОтпуска", vacation_transfer),
    Target("sick_leave", "Document_БольничныйЛист", sick_leave),
    Target("resignation", "Document_Увольнение", resignation),
    Target("business_trip", "Document_Командировка", business_trip),
    Target("child_tax_deduction", "Document_ЗаявлениеНаПредоставлениеСтандартныхВычетовПоНДФЛ", child_tax_deduction),
    Target("bank_details", "Document_ЗаявлениеОСпособеВыплатыЗарплатыКабинетСотрудника", bank_details,
           posted=False),
    Target("work_book", "Document_ЗаявлениеВПроизвольнойФормеКабинетСотрудника", work_book, posted=False),
    Target("certificate_2ndfl", "Document_СправкаНДФЛ", certificate_2ndfl, produces_file=True),
    Target("certificate_182n", "Document_ИсходящаяСправкаОЗаработкеДляРасчетаПособий", certificate_182n,
           produces_file=True),
)}

SCHEDULE_SET = "Document_ГрафикОтпусков"
"""The consolidated vacation schedule of a department for a year (onec.vacation_schedule)."""
TIMESHEET_SET = "Document_ТабельУчетаРабочегоВремени"
"""Hours worked per employee and day over a month (ZupSource.push_timesheet)."""

NOT_IN_PAYROLL: Mapping[str, str] = {
    "cash_advance": "выдача подотчётных средств оформляется в бухгалтерской программе (1С:Бухгалтерия: "
                    "расходный кассовый ордер или списание с расчётного счёта подотчётному лицу), в 1С:ЗУП "
                    "такого документа нет",
    "vacation_schedule": "желания сотрудников сводятся в график подразделения: используйте "
                         "onec.vacation_schedule и submit_vacation_schedule",
}


def target_for(kind: str, overrides: Mapping[str, str] | None = None) -> Target:
    """The target of a process; ``overrides`` (app.yaml request_documents) may rename its entity set."""
    if kind in NOT_IN_PAYROLL:
        raise OneCConfigError(f"Заявление «{kind}» не записывается в 1С:ЗУП: {NOT_IN_PAYROLL[kind]}")
    try:
        target = TARGETS[kind]
    except KeyError:
        raise OneCConfigError(f"Тип заявки «{kind}» не настроен: известные типы {', '.join(sorted(TARGETS))}") \
            from None
    entity_set = (overrides or {}).get(kind, target.entity_set)
    return target if entity_set == target.entity_set else replace(target, entity_set=entity_set)


TIMESHEET_PREFIX = "Табель Битрикс24: "


def timesheet_fields(sheet: Timesheet) -> Fields:
    """Document.ТабельУчетаРабочегоВремени of one department and month: a ДанныеОВремени row per
    employee with ВидВремениN/ЧасовN for day N; the version key in Комментарий."""
    first = sheet.month.replace(day=1)
    last = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1) - dt.timedelta(days=1)
    rows = []
    for row in sheet.rows:
        line: Fields = {"Сотрудник_Key": row.employee_ref}
        for worked, hours in sorted(row.hours.items()):
            if not first <= worked <= last:
                raise OneCConfigError(f"табель за {first:%m.%Y}: день {worked:%d.%m.%Y} не из этого месяца")
            if not 0 <= hours <= 24:
                raise OneCConfigError(f"табель: {hours} ч за {worked:%d.%m.%Y} — ожидается от 0 до 24")
            if hours:
                line[f"ВидВремени{worked.day}_Key"] = sheet.time_kind_ref
                line[f"Часов{worked.day}"] = float(hours)
        rows.append(line)
    return {"Организация_Key": sheet.organization_ref, "Подразделение_Key": sheet.department_ref,
            "ПериодРегистрации": day(first), "ДатаНачалаПериода": day(first), "ДатаОкончанияПериода": day(last),
            "ДанныеОВремени": rows, COMMENT_FIELD: TIMESHEET_PREFIX + sheet.key}


PERSON_ONLY = {"child_tax_deduction": "Сотрудник_Key", "certificate_2ndfl": "ФизическоеЛицо_Key"}
"""Documents that name the person and no employee: the deduction statement's «Сотрудник» is a
CatalogRef.ФизическиеЛица (Documents/ЗаявлениеНаПредоставлениеСтандартныхВычетовПоНДФЛ.xml); СправкаНДФЛ
has ФизическоеЛицо only. The others name the employee (Сотрудник) and, filled or not, ФизическоеЛицо."""


def person_filter(kind: str, person_ref: str, employee_refs: Sequence[str]) -> str:
    """An OData $filter for a request document of ``kind`` concerning the person or their employees."""
    if kind in PERSON_ONLY:
        return f"{PERSON_ONLY[kind]} eq guid'{person_ref}'"
    return " or ".join([f"ФизическоеЛицо_Key eq guid'{person_ref}'",
                        *(f"Сотрудник_Key eq guid'{ref}'" for ref in employee_refs)])


def state_fields(statement: bool) -> tuple[str, ...]:
    """What tells a request document's state: HR's acceptance, the deletion mark and HR's words."""
    return ("Выполнена" if statement else "Posted", "DeletionMark", COMMENT_FIELD,
            *((STATEMENT_ANSWER,) if statement else ()))


def document_state(row: Mapping[str, Any], statement: bool) -> tuple[str, str]:
    """(request_state, HR's comment) of a document row read with ``state_fields``."""
    accepted = row.get("Выполнена" if statement else "Posted")
    text = "\n".join(filter(None, (normalize.text(row.get(COMMENT_FIELD)), normalize.text(row.get(STATEMENT_ANSWER)))))
    return request_state(bool(accepted), bool(row.get("DeletionMark"))), hr_comment(text)


def person_document(kind: str, row: Mapping[str, Any], statement: bool) -> PersonDocument:
    """A row of ``Ref_Key, Number, Date`` and ``state_fields`` as the cabinet lists it."""
    status, hr_text = document_state(row, statement)
    return PersonDocument(kind=kind, ref=normalize.required_ref(row.get("Ref_Key")),
                          number=normalize.text(row.get("Number")), date=normalize.date(row.get("Date"), "Date"),
                          status=status, comment=hr_text)


def newest(documents: list[PersonDocument], limit: int) -> list[PersonDocument]:
    """At most ``limit`` documents, the newest first."""
    return sorted(documents, key=lambda document: (document.date or dt.date.min, document.number), reverse=True)[:limit]


def request_state(accepted: bool, marked: bool) -> str:
    """A request document's state as the request sees it: HR accepted it (posted it, or marked a statement
    Выполнена), marked it for deletion, or not yet."""
    return "Отклонено" if marked else "Согласовано" if accepted else "Рассматривается"


STATEMENT_ANSWER = "ОтветПоЗаявке"
"""Where HR answers a Кабинет сотрудника statement (shown to the employee after HR's lines of Комментарий)."""


def unposted_sets(overrides: Mapping[str, str] | None = None) -> set[str]:
    """Entity sets of statements that are never posted: their acceptance is ``Выполнена``."""
    return {target_for(kind, overrides).entity_set for kind, target in TARGETS.items() if not target.posted}


class DocumentWrites:
    """``submit_request`` and ``push_timesheet`` of a source, on top of its ``write_document``."""

    request_documents: Mapping[str, str]

    def write_document(self, kind: str, entity_set: str, fields: Mapping[str, Any], key: str) -> RequestRef:
        raise NotImplementedError

    def submit_request(self, request: EmployeeRequest) -> RequestRef:
        target = target_for(request.kind, self.request_documents)
        return self.write_document(request.kind, target.entity_set, target.build(request), LINK_PREFIX + request.link)

    def push_timesheet(self, timesheet: Timesheet) -> RequestRef:
        return self.write_document("timesheet", TIMESHEET_SET, timesheet_fields(timesheet),
                                   TIMESHEET_PREFIX + timesheet.key)

    def submit_vacation_schedule(self, schedule: ApprovedSchedule, department_name: str = "") -> RequestRef:
        kind = schedule.vacation_kind_ref or self.main_vacation_kind()
        return self.write_document("vacation_schedule", SCHEDULE_SET, schedule_fields(schedule, department_name, kind),
                                   SCHEDULE_PREFIX + schedule.key)

    def main_vacation_kind(self) -> str:
        """The Catalog.ВидыОтпусков item of the main annual vacation, for rows that name none; "" when
        1C fills it on write (the B24Sync extension, docs/onec-extension.md, section 6)."""
        return ""


def written_sets(overrides: Mapping[str, str] | None = None) -> list[str]:
    """Every entity set the connector writes documents to."""
    return sorted({target_for(kind, overrides).entity_set for kind in TARGETS} | {SCHEDULE_SET, TIMESHEET_SET})
