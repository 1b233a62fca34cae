"""HR operations the way ZUP documents record them: hire, transfer, dismissal, vacations.

Each operation writes the catalog row, the current-state register and the history register
consistently, so the generator, the mutation hook and SOAP all see one truth.
"""
from __future__ import annotations

import calendar
import functools
from dataclasses import dataclass
from datetime import date, timedelta

from .schema import (AS_OF, EMPLOYEES, EMPTY_DATE, EMPTY_GUID, HR_CURRENT, HR_HISTORY, VACATION_BALANCES,
                     VACATION_KINDS, VACATION_RIGHTS, VACATIONS_USED)
from .store import Store

MAIN_VACATION_DAYS = 28.0


@functools.lru_cache(maxsize=None)
def iso(day: date) -> str:
    """1C date literal; cached so the many equal dates share one string."""
    return f"{day.isoformat()}T00:00:00"


def parse_day(text: str) -> date:
    return date.fromisoformat(text[:10])


@dataclass(frozen=True)
class Placement:
    """Where an employee works: legal entity, department, position, employment kind."""

    org: str
    department: str
    position: str
    kind: str = "ОсновноеМестоРаботы"
    rate: float = 1.0


@dataclass(frozen=True)
class Hire:
    person: str
    head_org: str
    code: str
    description: str
    placement: Placement
    day: date
    head_employee: str = EMPTY_GUID
    clarification: str = ""


def hire(store: Store, order: Hire, trusted: bool = False) -> str:
    """Create the Сотрудники row, its current HR row and the Прием history record."""
    employee = store.insert(EMPLOYEES, {
        "Code": order.code, "Description": order.description, "ФизическоеЛицо_Key": order.person,
        "ГоловнаяОрганизация_Key": order.head_org, "ГоловнойСотрудник_Key": order.head_employee,
        "УточнениеНаименования": order.clarification,
    }, trusted)
    ref = employee[0]
    store.insert(HR_CURRENT, _current_values(order.person, ref, order.head_org, order.placement, order.day),
                 trusted)
    _history(store, ref, "Прием", order.day, order.placement, trusted)
    return ref


def transfer(store: Store, employee: str, day: date, placement: Placement, trusted: bool = False) -> None:
    """Кадровый перевод: new department/position from `day`."""
    key, current = _current_row(store, employee)
    store.update(HR_CURRENT, key, {"ТекущееПодразделение_Key": placement.department,
                                   "ТекущаяДолжность_Key": placement.position}, trusted)
    _history(store, employee, "Перемещение", day, placement, trusted)


def dismiss(store: Store, employee: str, day: date, trusted: bool = False) -> None:
    key, _ = _current_row(store, employee)
    store.update(HR_CURRENT, key, {"ДатаУвольнения": iso(day)}, trusted)
    _history(store, employee, "Увольнение", day, None, trusted)


def rehire(store: Store, employee: str, day: date, placement: Placement, trusted: bool = False) -> None:
    """Repeated hire on the same Сотрудник record after a dismissal."""
    key, _ = _current_row(store, employee)
    store.update(HR_CURRENT, key, {"ДатаПриема": iso(day), "ДатаУвольнения": EMPTY_DATE,
                                   "ТекущееПодразделение_Key": placement.department,
                                   "ТекущаяДолжность_Key": placement.position}, trusted)
    store.update(EMPLOYEES, employee, {"ВАрхиве": False}, trusted)
    _history(store, employee, "Прием", day, placement, trusted)


def current_state(store: Store, employee: str) -> dict[str, object]:
    """The ТекущиеКадровыеДанныеСотрудников row of an employee as a dict."""
    _, row = _current_row(store, employee)
    return dict(zip(store.table(HR_CURRENT).definition.columns, row))


def _current_row(store: Store, employee: str) -> tuple[tuple, tuple]:
    table = store.table(HR_CURRENT)
    keys = table.index(table.definition.index("Сотрудник_Key")).get(employee)
    if not keys:
        raise KeyError(employee)
    return keys[0], table.rows[keys[0]]


def _current_values(person: str, employee: str, head_org: str, placement: Placement, day: date
                    ) -> dict[str, object]:
    return {
        "ФизическоеЛицо_Key": person, "Сотрудник_Key": employee, "ГоловнаяОрганизация_Key": head_org,
        "ТекущаяОрганизация_Key": placement.org, "ТекущееПодразделение_Key": placement.department,
        "ТекущаяДолжность_Key": placement.position, "ДатаПриема": iso(day), "ДатаУвольнения": EMPTY_DATE,
        "ТекущийВидЗанятости": placement.kind,
        "ОсновноеРабочееМестоВОрганизации": placement.kind == "ОсновноеМестоРаботы",
        "ОформленПоТрудовомуДоговору": True, "КоличествоСтавок": placement.rate,
    }


RECORDERS = {"Прием": "Document_ПриемНаРаботу", "Перемещение": "Document_КадровыйПеревод",
             "Увольнение": "Document_Увольнение"}


def _history(store: Store, employee: str, event: str, day: date, placement: Placement | None,
             trusted: bool) -> None:
    state = current_state(store, employee)
    values = {
        "Recorder": store.new_guid(), "Recorder_Type": f"StandardODATA.{RECORDERS[event]}",
        "Period": iso(day), "LineNumber": "1", "Active": True, "Сотрудник_Key": employee,
        "ГоловнаяОрганизация_Key": state["ГоловнаяОрганизация_Key"],
        "ФизическоеЛицо_Key": state["ФизическоеЛицо_Key"], "ВидСобытия": event,
        "ЭтоГоловнойСотрудник": state["ТекущийВидЗанятости"] != "ВнутреннееСовместительство",
        "ВидДоговора": "ТрудовойДоговор",
    }
    if placement is not None:
        values.update({"Организация_Key": placement.org, "Подразделение_Key": placement.department,
                       "Должность_Key": placement.position, "КоличествоСтавок": placement.rate})
    store.insert(HR_HISTORY, values, trusted)


def grant_year(store: Store, employee: str, kind: str, start: date, trusted: bool = False) -> None:
    """Rights to the annual vacation for one working year starting at `start`."""
    store.insert(VACATION_RIGHTS, {
        "Period": iso(start), "Сотрудник_Key": employee, "ВидЕжегодногоОтпуска_Key": kind,
        "КоличествоДней": MAIN_VACATION_DAYS, "ДатаНачала": iso(start),
        "ДатаОкончания": iso(year_after(start) - timedelta(days=1)),
        "КоличествоДнейЗаПериод": MAIN_VACATION_DAYS,
    }, trusted)


def take_vacation(store: Store, employee: str, person: str, org: str, kind: str, start: date, days: int,
                  year_start: date, trusted: bool = False) -> None:
    """A posted Document_Отпуск and its ФактическиеОтпуска record."""
    end = start + timedelta(days=days - 1)
    document = store.insert("Document_Отпуск", {
        "Number": store.next_number("Document_Отпуск"), "Date": iso(start - timedelta(days=3)),
        "Posted": True, "Организация_Key": org, "Сотрудник_Key": employee, "ФизическоеЛицо_Key": person,
        "ПредоставитьОсновнойОтпуск": True, "ДатаНачалаОсновногоОтпуска": iso(start),
        "ДатаОкончанияОсновногоОтпуска": iso(end), "КоличествоДнейОсновногоОтпуска": float(days),
        "ДатаНачалаПериодаОтсутствия": iso(start), "ДатаОкончанияПериодаОтсутствия": iso(end),
    }, trusted)
    store.insert(VACATIONS_USED, {
        "Recorder": document[0], "Recorder_Type": "StandardODATA.Document_Отпуск", "Period": iso(start),
        "LineNumber": "1", "Active": True, "Сотрудник_Key": employee, "ВидЕжегодногоОтпуска_Key": kind,
        "Количество": float(days), "ДатаНачала": iso(start), "ДатаОкончания": iso(end),
        "ДатаРегистрации": iso(start), "РабочийПериодС": iso(year_start),
        "РабочийПериодПо": iso(year_after(year_start) - timedelta(days=1)),
        "Основание": document[0], "Основание_Type": "StandardODATA.Document_Отпуск",
        "ПериодНачисления": iso(start.replace(day=1)),
    }, trusted)


def add_months(day: date, months: int) -> date:
    """1C's ДобавитьМесяц: the same day `months` later, or that month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_worked(start: date, end: date) -> float:
    """Months of the working year from `start` through `end` (inclusive): whole months counted from
    `start` plus the worked share of the running month, as ZUP's «Справка по отпускам» shows them
    («Отработано месяцев: N (M дн.)», CommonModules/ОстаткиОтпусков)."""
    after = end + timedelta(days=1)
    if after <= start:
        return 0.0
    whole = (after.year - start.year) * 12 + after.month - start.month
    while add_months(start, whole) > after:
        whole -= 1
    begun, following = add_months(start, whole), add_months(start, whole + 1)
    return whole + (after - begun).days / (following - begun).days


def earned_days(days_per_year: float, start: date, end: date) -> float:
    """Annual vacation earned from `start` through `end`: days per year / 12 for each month worked."""
    return days_per_year * months_worked(start, end) / 12


def vacation_balance(store: Store, employee: str, on_day: date) -> dict[str, float]:
    """Days left by vacation kind on `on_day`: rights earned month by month since the first recorded
    working year (up to the dismissal) minus the vacations begun by then, as ZUP's
    ОстаткиОтпусков computes them for any date (never only for the dates the data was made on)."""
    state = current_state(store, employee)
    dismissed = state["ДатаУвольнения"]
    end = min(on_day, parse_day(dismissed)) if dismissed != EMPTY_DATE else on_day
    rates = kind_rates(store)
    starts: dict[str, date] = {}
    for record in _records(store, VACATION_RIGHTS, employee):
        kind, begins = record["ВидЕжегодногоОтпуска_Key"], parse_day(record["ДатаНачала"])
        starts[kind] = min(begins, starts.get(kind, begins))
    balance = {kind: earned_days(rates.get(kind, MAIN_VACATION_DAYS), start, end) for kind, start in starts.items()}
    for record in _records(store, VACATIONS_USED, employee):
        if parse_day(record["ДатаНачала"]) <= on_day:
            kind = record["ВидЕжегодногоОтпуска_Key"]
            balance[kind] = balance.get(kind, 0.0) - record["Количество"]
    return {kind: round(days, 2) for kind, days in balance.items()}


def _records(store: Store, set_name: str, employee: str) -> list[dict[str, object]]:
    columns = store.table(set_name).definition.columns
    return [dict(zip(columns, row)) for row in store.find(set_name, "Сотрудник_Key", employee)]


def refresh_balance_rows(store: Store, employee: str, person: str, on_day: date = AS_OF) -> None:
    """Rewrite АналитикаОстатковОтпусков for an employee from the two vacation registers."""
    table = store.table(VACATION_BALANCES)
    for key in list(table.index(table.definition.index("Сотрудник_Key")).get(employee, ())):
        store.delete(VACATION_BALANCES, key)
    for kind, days in vacation_balance(store, employee, on_day).items():
        store.insert(VACATION_BALANCES, {"Сотрудник_Key": employee, "ФизическоеЛицо_Key": person,
                                         "ВидЕжегодногоОтпуска_Key": kind, "Дата": iso(on_day),
                                         "ОстатокДней": days}, trusted=True)


def kind_names(store: Store) -> dict[str, str]:
    table = store.table(VACATION_KINDS)
    ref, name = table.definition.index("Ref_Key"), table.definition.index("Description")
    return {row[ref]: row[name] for row in table.rows.values()}


def kind_rates(store: Store) -> dict[str, float]:
    """КоличествоДнейВГод of each kind of vacation."""
    table = store.table(VACATION_KINDS)
    ref, days = table.definition.index("Ref_Key"), table.definition.index("КоличествоДнейВГод")
    return {row[ref]: row[days] for row in table.rows.values()}


def year_after(start: date) -> date:
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)
