"""Targeted HR edits in the running 1C emulator (in-process, like an HR officer would do in 1C)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from emulators.onec import hr
from emulators.onec.generator import email_row
from emulators.onec.mutate import company_from
from emulators.onec.schema import EMPLOYEES, PERSONS, SETS


def give_email(zup_server: Any, person_ref: str, address: str) -> None:
    store = zup_server.app.store
    with zup_server.app.lock:
        person = dict(zip(SETS[PERSONS].columns, store.get(PERSONS, person_ref)))
        columns = [p.name for p in SETS[PERSONS].by_name["КонтактнаяИнформация"].rows]
        rows = [dict(zip(columns, line)) for line in person["КонтактнаяИнформация"]]
        kind = company_from(store).contact_kinds["EMailФизическиеЛица"]
        rows = [r for r in rows if r["Тип"] != "АдресЭлектроннойПочты"] + [email_row(kind, address)]
        for row in rows:
            row.pop("LineNumber", None)
        store.update(PERSONS, person_ref, {"КонтактнаяИнформация": rows})


def employees_of(zup_server: Any, person_ref: str) -> list[str]:
    store = zup_server.app.store
    return [row[0] for row in store.find(EMPLOYEES, "ФизическоеЛицо_Key", person_ref)]


def dismiss(zup_server: Any, employee_ref: str) -> None:
    with zup_server.app.lock:
        store = zup_server.app.store
        store.today += timedelta(days=1)
        hr.dismiss(store, employee_ref, store.today)


def rehire(zup_server: Any, employee_ref: str) -> None:
    with zup_server.app.lock:
        store = zup_server.app.store
        store.today += timedelta(days=1)
        state = hr.current_state(store, employee_ref)
        placement = hr.Placement(state["ТекущаяОрганизация_Key"], state["ТекущееПодразделение_Key"],
                                 state["ТекущаяДолжность_Key"], state["ТекущийВидЗанятости"])
        hr.rehire(store, employee_ref, store.today, placement)


def hire_second_job(zup_server: Any, employee_ref: str) -> str:
    """The employee's person also starts part-time in another department of the same legal entity."""
    with zup_server.app.lock:
        store = zup_server.app.store
        state = hr.current_state(store, employee_ref)
        company = company_from(store)
        departments = company.departments[state["ТекущаяОрганизация_Key"]]
        other = next(d for d in departments if d != state["ТекущееПодразделение_Key"])
        placement = hr.Placement(state["ТекущаяОрганизация_Key"], other, state["ТекущаяДолжность_Key"],
                                 "ВнутреннееСовместительство", 0.5)
        order = hr.Hire(state["ФизическоеЛицо_Key"], state["ТекущаяОрганизация_Key"], "ВС-0000001",
                        "совместитель", placement, store.today, employee_ref, "внутр. совместитель")
        return hr.hire(store, order)


def mark_deleted(zup_server: Any, set_name: str, ref: str) -> None:
    """Set DeletionMark, as an HR officer marking a duplicate card for deletion does."""
    with zup_server.app.lock:
        zup_server.app.store.update(set_name, ref, {"DeletionMark": True})
