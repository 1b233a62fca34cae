"""The staffing-company generator and the mutation function (issue 4 item 7)."""
from __future__ import annotations

from collections import Counter

import pytest

from emulators.onec.generator import Spec, generate
from emulators.onec.mutate import mutate
from emulators.onec.schema import EMPLOYEES, HR_CURRENT, ORGS, PERSONS, SETS
from emulators.onec.store import Store


def records(store: Store, set_name: str) -> list[dict[str, object]]:
    columns = SETS[set_name].columns
    return [dict(zip(columns, row)) for row in store.table(set_name).rows.values()]


@pytest.fixture(scope="module")
def company() -> Store:
    return generate("employees=3000,orgs=4,departments=60", seed=7)


def people(store: Store) -> list[dict[str, object]]:
    return [p for p in records(store, PERSONS) if not p["IsFolder"]]


def test_same_seed_same_infobase_other_seed_differs() -> None:
    first, second = generate("employees=150", seed=3), generate("employees=150", seed=3)
    assert all(first.table(n).rows == second.table(n).rows for n in SETS)
    assert generate("employees=150", seed=4).table(EMPLOYEES).rows != first.table(EMPLOYEES).rows


def test_exact_employee_count_and_spec_errors(company: Store) -> None:
    assert len(company.table(EMPLOYEES).rows) == 3000
    assert len(company.table(ORGS).rows) == 4
    with pytest.raises(ValueError, match="bad generate spec"):
        Spec.parse("employees=ten")
    with pytest.raises(ValueError, match="bad generate spec"):
        Spec.parse("staff=10")


def test_contact_shares(company: Store) -> None:
    persons = people(company)
    kinds = [Counter(line[1] for line in p["КонтактнаяИнформация"]) for p in persons]
    email = sum(1 for k in kinds if k["АдресЭлектроннойПочты"]) / len(persons)
    phone = sum(1 for k in kinds if k["Телефон"]) / len(persons)
    assert 0.76 < email < 0.84
    assert 0.93 < phone < 0.97


def test_two_employers_duplicates_and_part_timers(company: Store) -> None:
    employees = records(company, EMPLOYEES)
    by_person: dict[object, set[object]] = {}
    for e in employees:
        by_person.setdefault(e["ФизическоеЛицо_Key"], set()).add(e["ГоловнаяОрганизация_Key"])
    assert sum(1 for orgs in by_person.values() if len(orgs) == 2) > 30
    names = Counter(p["Description"] for p in people(company))
    assert sum(1 for count in names.values() if count > 1) > 10
    kinds = Counter(s["ТекущийВидЗанятости"] for s in records(company, HR_CURRENT))
    assert kinds["Совместительство"] > 100 and kinds["ВнутреннееСовместительство"] > 5
    assert any(e["ГоловнойСотрудник_Key"] != "00000000-0000-0000-0000-000000000000" for e in employees)


def test_hires_and_dismissals_spread_over_years(company: Store) -> None:
    states = records(company, HR_CURRENT)
    hire_years = Counter(str(s["ДатаПриема"])[:4] for s in states)
    assert len(hire_years) >= 10
    dismissed = [s for s in states if s["ДатаУвольнения"] != "0001-01-01T00:00:00"]
    assert 0.2 < len(dismissed) / len(states) < 0.6
    assert all(str(s["ДатаУвольнения"]) > str(s["ДатаПриема"]) for s in dismissed)


def test_feminine_surnames_and_valid_tax_numbers(company: Store) -> None:
    for person in people(company):
        if person["Пол"] == "Женский" and str(person["Фамилия"]).endswith(("ова", "ева", "ина")):
            continue
        if person["Пол"] == "Женский":
            assert not str(person["Фамилия"]).endswith(("ов", "ев", "ский"))
        inn = str(person["ИНН"])
        if inn:
            digits = [int(c) for c in inn]
            weights = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
            assert sum(d * w for d, w in zip(digits, weights)) % 11 % 10 == digits[10]


def test_mutation_changes_what_it_reports() -> None:
    store = generate("employees=1000,orgs=2,departments=10", seed=5)
    before_version = store.changes.version
    persons_before = {key: row for key, row in store.table(PERSONS).rows.items()}
    summary = mutate(store, 5.0, seed=11)
    assert sum(summary[k] for k in ("hired", "dismissed", "transferred", "renamed", "emails", "rehired")) > 30
    assert len(store.table(EMPLOYEES).rows) == 1000 + summary["hired"]
    assert summary["change_version"] == store.changes.version > before_version
    changed = [k for k, row in store.table(PERSONS).rows.items() if persons_before.get(k) != row]
    assert len(changed) >= summary["hired"] + summary["emails"]
    again = generate("employees=1000,orgs=2,departments=10", seed=5)
    assert mutate(again, 5.0, seed=11) == summary
