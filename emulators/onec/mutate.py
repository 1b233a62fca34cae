"""Realistic changes to a generated infobase for incremental-sync tests (issue 4 item 7)."""
from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from . import hr, names
from .generator import Company, People, email_address, email_row
from .schema import (CONTACT_KINDS, DEPARTMENTS, EMPLOYEES, EMPTY_DATE, HR_CURRENT, ORGS, PERSONS, POSITIONS,
                     SETS, VACATION_KINDS)
from .store import Store

WEIGHTS = (("hired", 25), ("dismissed", 25), ("transferred", 20), ("renamed", 10), ("emails", 15),
           ("rehired", 5))


def mutate(store: Store, percent: float, seed: int) -> dict[str, int]:
    """Apply about `percent` % of the employee count as changes dated one day after the last ones."""
    if percent < 0 or percent > 100:
        raise ValueError("percent must be between 0 and 100")
    rng = random.Random(seed)
    store.today += timedelta(days=1)
    total = round(len(store.table(EMPLOYEES).rows) * percent / 100)
    plan = Counter(rng.choices([name for name, _ in WEIGHTS], [w for _, w in WEIGHTS], k=total))
    office = Office(store, rng)
    summary = {name: 0 for name, _ in WEIGHTS}
    for name in sorted(plan):
        summary[name] = sum(1 for _ in range(plan[name]) if getattr(office, name)())
    summary["change_version"] = store.changes.version
    return summary


class Office:
    """One HR officer's day: each method makes one change and says whether it found something to do."""

    def __init__(self, store: Store, rng: random.Random) -> None:
        self.store, self.rng = store, rng
        self.company = company_from(store)
        self.people = People(store, rng, self.company, store.today)
        self.people.codes = Counter(hr.current_state(store, ref)["ГоловнаяОрганизация_Key"]
                                    for ref in store.table(EMPLOYEES).rows)
        self.people.person_number = len(store.table(PERSONS).rows)
        states = store.table(HR_CURRENT).definition
        self.working, self.gone = [], []
        for row in store.table(HR_CURRENT).rows.values():
            bucket = self.working if row[states.index("ДатаУвольнения")] == EMPTY_DATE else self.gone
            bucket.append(row[states.index("Сотрудник_Key")])

    def hired(self) -> bool:
        person, full_name, born = self.people.person()
        org = self.rng.choice(self.company.orgs)
        self.working.append(self.people.employ(person, full_name, born, org, "ОсновноеМестоРаботы",
                                              day=self.store.today))
        return True

    def dismissed(self) -> bool:
        if not self.working:
            return False
        employee = self.working.pop(self.rng.randrange(len(self.working)))
        hr.dismiss(self.store, employee, self.store.today)
        self.gone.append(employee)
        return True

    def transferred(self) -> bool:
        if not self.working:
            return False
        employee = self.rng.choice(self.working)
        state = hr.current_state(self.store, employee)
        org = next(o for o in self.company.orgs if o["ref"] == state["ТекущаяОрганизация_Key"])
        hr.transfer(self.store, employee, self.store.today, self.people.placement(org, state["ТекущийВидЗанятости"]))
        return True

    def rehired(self) -> bool:
        if not self.gone:
            return False
        employee = self.gone.pop(self.rng.randrange(len(self.gone)))
        state = hr.current_state(self.store, employee)
        org = next(o for o in self.company.orgs if o["ref"] == state["ТекущаяОрганизация_Key"])
        hr.rehire(self.store, employee, self.store.today, self.people.placement(org, state["ТекущийВидЗанятости"]))
        self.working.append(employee)
        return True

    def renamed(self) -> bool:
        """A woman changes her surname (marriage): the person and her employee records are renamed."""
        candidates = (self.person_of(self.rng.choice(self.working)) for _ in range(10 if self.working else 0))
        person = next((p for p in candidates if p is not None and p["Пол"] == "Женский"), None)
        if person is None:
            return False
        surname = names.feminine_surname(self.rng.choice(names.SURNAMES))
        full_name = f"{surname} {person['Имя']} {person['Отчество']}"
        self.store.update(PERSONS, person["Ref_Key"], {"Фамилия": surname, "ФИО": full_name,
                                                       "Description": full_name}, trusted=True)
        for employee in list(self.store.find(EMPLOYEES, "ФизическоеЛицо_Key", person["Ref_Key"])):
            clarification = employee[SETS[EMPLOYEES].index("УточнениеНаименования")]
            description = f"{full_name} ({clarification})" if clarification else full_name
            self.store.update(EMPLOYEES, employee[0], {"Description": description}, trusted=True)
        return True

    def emails(self) -> bool:
        """A new e-mail address replaces the old one (or is added)."""
        person = self.person_of(self.rng.choice(self.working)) if self.working else None
        if person is None:
            return False
        kind = self.company.contact_kinds["EMailФизическиеЛица"]
        address = email_address(self.rng, person["Фамилия"], person["Имя"], hr.parse_day(person["ДатаРождения"]))
        columns = [p.name for p in SETS[PERSONS].by_name["КонтактнаяИнформация"].rows]
        rows = [dict(zip(columns, line)) for line in person["КонтактнаяИнформация"]]
        rows = [row for row in rows if row["Тип"] != "АдресЭлектроннойПочты"] + [email_row(kind, address)]
        for row in rows:
            row.pop("LineNumber", None)
        self.store.update(PERSONS, person["Ref_Key"], {"КонтактнаяИнформация": rows})
        return True

    def person_of(self, employee: str) -> dict[str, object] | None:
        ref = hr.current_state(self.store, employee)["ФизическоеЛицо_Key"]
        row = self.store.get(PERSONS, ref)
        return dict(zip(SETS[PERSONS].columns, row)) if row else None


def company_from(store: Store) -> Company:
    """The generator's picking lists rebuilt from the store."""
    orgs = []
    for row in store.table(ORGS).rows.values():
        record = dict(zip(SETS[ORGS].columns, row))
        orgs.append({"ref": record["Ref_Key"], "prefix": record["Префикс"].strip(),
                     "registration": record["РегистрацияВНалоговомОргане_Key"]})
    departments: dict[str, list[str]] = {}
    for row in store.table(DEPARTMENTS).rows.values():
        record = dict(zip(SETS[DEPARTMENTS].columns, row))
        if not record["Расформировано"]:
            departments.setdefault(record["Owner_Key"], []).append(record["Ref_Key"])
    kinds = {row[SETS[CONTACT_KINDS].index("PredefinedDataName")]: row[0]
             for row in store.table(CONTACT_KINDS).rows.values()}
    main_vacation = next(row[0] for row in store.table(VACATION_KINDS).rows.values()
                         if row[SETS[VACATION_KINDS].index("ОсновнойОтпуск")])
    folders = [row[0] for row in store.table(PERSONS).rows.values() if row[SETS[PERSONS].index("IsFolder")]]
    return Company(orgs, departments, list(store.table(POSITIONS).rows), kinds, main_vacation, folders)
