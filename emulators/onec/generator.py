"""Deterministic generator of a staffing company's ZUP infobase (issue 4 item 7)."""
from __future__ import annotations

import random
from dataclasses import dataclass, fields
from datetime import date, timedelta

from . import hr, names
from .hr import AS_OF, Hire, Placement, iso
from .schema import (CERT_KINDS, CONTACT_KINDS, DEPARTMENTS, EMPLOYEES, EMPTY_GUID, ORGS, PERSONS, POSITIONS,
                     SETS, TAX_REGS, TIME_KINDS, VACATION_KINDS)
from .store import Store

FIRST_HIRE = date(2012, 1, 9)
CONTACT_KIND_NAMES = {
    "EMailФизическиеЛица": ("Email", "АдресЭлектроннойПочты"),
    "ТелефонМобильныйФизическиеЛица": ("Телефон мобильный", "Телефон"),
    "ТелефонРабочийФизическиеЛица": ("Телефон рабочий", "Телефон"),
    "ТелефонДомашнийФизическиеЛица": ("Телефон домашний", "Телефон"),
    "АдресПоПропискеФизическиеЛица": ("Адрес по прописке", "Адрес"),
    "АдресМестаПроживанияФизическиеЛица": ("Адрес места проживания", "Адрес"),
    "АдресДляИнформированияФизическиеЛица": ("Адрес для информирования", "Адрес"),
    "АдресЗаПределамиРФФизическиеЛица": ("Адрес за пределами РФ", "Адрес"),
}
VACATION_KIND_ROWS = (
    ("Основной", "Основной отпуск", True, True, 28.0, False),
    ("", "Дополнительный за ненормированный рабочий день", False, True, 3.0, False),
    ("", "Отпуск без оплаты", False, False, 0.0, True),
    ("", "Учебный отпуск", False, False, 0.0, False),
)
CONTACT_COLUMNS = tuple((p.name, p.empty()) for p in SETS[PERSONS].by_name["КонтактнаяИнформация"].rows)
CERTIFICATE_KINDS = ("Справка с места работы", "Справка о доходах", "Справка об остатках отпусков")


@dataclass(frozen=True)
class Spec:
    """What to generate: `employees=50000,orgs=5,departments=800[,positions=40]`."""

    employees: int = 200
    orgs: int = 3
    departments: int = 20
    positions: int = 40

    @classmethod
    def parse(cls, text: str) -> Spec:
        allowed = {f.name for f in fields(cls)}
        values: dict[str, int] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, raw = part.partition("=")
            if name not in allowed or not raw.strip().isdigit():
                raise ValueError(f"bad generate spec item {part!r}: expected one of "
                                 f"{', '.join(sorted(allowed))} = a non-negative integer")
            values[name] = int(raw)
        spec = cls(**values)
        if spec.orgs < 1 or spec.departments < spec.orgs or spec.positions < 1:
            raise ValueError("generate spec needs orgs >= 1, departments >= orgs and positions >= 1")
        return spec


@dataclass
class Company:
    """References the person/employee generators pick from."""

    orgs: list[dict[str, str]]
    departments: dict[str, list[str]]
    positions: list[str]
    contact_kinds: dict[str, str]
    main_vacation: str
    person_folders: list[str]


def generate(spec: Spec | str, seed: int = 1, today: date = AS_OF) -> Store:
    """A fresh store filled for `spec`; the same seed always gives the same infobase."""
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    store = Store(seed)
    rng = random.Random(seed)
    company = Company(orgs=[], departments={}, positions=[], contact_kinds={}, main_vacation="",
                      person_folders=[])
    _reference_catalogs(store, company)
    _organizations(store, rng, spec, company)
    _departments(store, rng, spec, company)
    _positions(store, spec, company)
    People(store, rng, company, today).fill(spec.employees)
    store.today = today
    return store


TIME_KIND_ROWS = (  # Catalog.ВидыИспользованияРабочегоВремени, codes of the unified табель form Т-12/Т-13
    ("Явка", "Явка", "Я", "01"), ("РаботаВечерниеЧасы", "Работа в вечернее время", "ВЧ", "02"),
    ("РаботаНочныеЧасы", "Работа в ночное время", "Н", "03"), ("Праздники", "Работа в праздники", "РВ", "05"),
    ("Сверхурочные", "Сверхурочная работа", "С", "04"), ("ОсновнойОтпуск", "Основной отпуск", "ОТ", "09"),
    ("Болезнь", "Болезнь", "Б", "19"), ("ВыходныеДни", "Выходные дни", "В", "26"),
)


def _reference_catalogs(store: Store, company: Company) -> None:
    for predefined, (title, kind) in CONTACT_KIND_NAMES.items():
        row = store.insert(CONTACT_KINDS, {"Description": title, "Наименование": title, "Тип": kind,
                                           "Используется": True, "Predefined": True,
                                           "PredefinedDataName": predefined},
                           trusted=True)
        company.contact_kinds[predefined] = row[0]
    for predefined, title, main, annual, days, unpaid in VACATION_KIND_ROWS:
        row = store.insert(VACATION_KINDS, {"Description": title, "ОсновнойОтпуск": main,
                                            "ОтпускЯвляетсяЕжегодным": annual, "КоличествоДнейВГод": days,
                                            "ОтпускБезОплаты": unpaid, "Predefined": bool(predefined),
                                            "PredefinedDataName": predefined},
                           trusted=True)
        company.main_vacation = company.main_vacation or row[0]
    for title in CERTIFICATE_KINDS:
        store.insert(CERT_KINDS, {"Description": title, "Представление": title},
                     trusted=True)
    for predefined, title, letter, digits in TIME_KIND_ROWS:
        store.insert(TIME_KINDS, {"Description": title, "Code": digits, "БуквенныйКод": letter, "ЦифровойКод": digits,
                                  "Predefined": True, "PredefinedDataName": predefined}, trusted=True)
    for title in ("Основной персонал", "Временный персонал"):
        folder = store.insert(PERSONS, {"Description": title, "IsFolder": True},
                              trusted=True)
        company.person_folders.append(folder[0])


def _organizations(store: Store, rng: random.Random, spec: Spec, company: Company) -> None:
    for number in range(spec.orgs):
        title = names.ORG_NAMES[number % len(names.ORG_NAMES)]
        if number >= len(names.ORG_NAMES):
            title = f"{title} {number // len(names.ORG_NAMES) + 1}"
        inn = _inn10(rng)
        prefix = "".join(word[0] for word in title.split()[:2]).upper() + chr(ord("А") + number % 32)
        org_ref = store.new_guid()
        registration = store.insert(TAX_REGS, {
            "Owner_Key": org_ref, "Code": f"{number + 1:09d}", "Description": f"ИФНС № {rng.randint(1, 51)}",
            "КПП": inn[:4] + "01001", "КодПоОКТМО": f"45{rng.randint(100000000, 999999999)}",
            "КодПоОКАТО": f"45{rng.randint(100000000, 999999999)}", "НаименованиеИФНС": "Инспекция ФНС России",
            "КодНалоговогоОргана": inn[:4],
        }, trusted=True)
        store.insert(ORGS, {
            "Ref_Key": org_ref, "Description": f'ООО "{title}"', "НаименованиеПолное":
            f'Общество с ограниченной ответственностью "{title}"', "НаименованиеСокращенное": f'ООО "{title}"',
            "ИНН": inn.ljust(12), "ОГРН": _ogrn(rng), "Префикс": prefix[:2].ljust(3),
            "ЮридическоеФизическоеЛицо": "ЮридическоеЛицо", "РегистрацияВНалоговомОргане_Key": registration[0],
            "КодОКВЭД2": "78.30",
        }, trusted=True)
        company.orgs.append({"ref": org_ref, "prefix": prefix[:2], "registration": registration[0]})


def _departments(store: Store, rng: random.Random, spec: Spec, company: Company) -> None:
    per_org = [spec.departments // spec.orgs + (1 if i < spec.departments % spec.orgs else 0)
               for i in range(spec.orgs)]
    site_number = 0
    for org, count in zip(company.orgs, per_org):
        roots, created = max(1, count // 4), []
        for number in range(count):
            parent = EMPTY_GUID
            if number < roots:
                title = names.CLIENT_SITES[site_number % len(names.CLIENT_SITES)]
                title += f" {site_number // len(names.CLIENT_SITES) + 1}" if site_number >= len(
                    names.CLIENT_SITES) else ""
                site_number += 1
            else:
                parent = rng.choice(created)
                title = f"{rng.choice(names.SUBDIVISIONS)} {number - roots + 1}"
            disbanded = number >= roots and rng.random() < 0.03
            created_on = FIRST_HIRE + timedelta(days=rng.randint(-900, 3000))
            row = store.insert(DEPARTMENTS, {
                "Owner_Key": org["ref"], "Parent_Key": parent, "Code": f"{number + 1:09d}", "Description": title,
                "ГоловнаяОрганизация_Key": org["ref"], "Сформировано": True, "ДатаСоздания": iso(created_on),
                "Расформировано": disbanded,
                "ДатаРасформирования": iso(AS_OF - timedelta(days=rng.randint(30, 700))) if disbanded else
                "0001-01-01T00:00:00", "РегистрацияВНалоговомОргане_Key": org["registration"],
            }, trusted=True)
            created.append(row[0])
            if not disbanded:
                company.departments.setdefault(org["ref"], []).append(row[0])


def _positions(store: Store, spec: Spec, company: Company) -> None:
    for number in range(spec.positions):
        title = names.POSITIONS[number % len(names.POSITIONS)]
        if number >= len(names.POSITIONS):
            title = f"{title} {number // len(names.POSITIONS) + 1} разряда"
        row = store.insert(POSITIONS, {"Description": title, "НаименованиеКраткое": title[:25],
                                       "ВведенаВШтатноеРасписание": True, "ДатаВвода": iso(FIRST_HIRE)}, trusted=True)
        company.positions.append(row[0])


class People:
    """Persons with contacts and their employment records, hires, transfers, dismissals, vacations."""

    def __init__(self, store: Store, rng: random.Random, company: Company, today: date) -> None:
        self.store, self.rng, self.company, self.today = store, rng, company, today
        self.codes: dict[str, int] = {}
        self.names_used: list[tuple[str, str, str, bool]] = []
        self.person_number = 0

    def fill(self, employees: int) -> None:
        made = 0
        while made < employees:
            person, full_name, born = self.person()
            org = self.rng.choice(self.company.orgs)
            kind = "Совместительство" if self.rng.random() < 0.05 else "ОсновноеМестоРаботы"
            main = self.employ(person, full_name, born, org, kind)
            made += 1
            roll = self.rng.random()
            if made < employees and roll < 0.04 and len(self.company.orgs) > 1:
                other = self.rng.choice([o for o in self.company.orgs if o is not org])
                self.employ(person, full_name, born, other, "Совместительство", clarification="совместитель")
                made += 1
            elif made < employees and roll < 0.05:
                self.employ(person, full_name, born, org, "ВнутреннееСовместительство", head=main,
                            clarification="внутр. совместитель")
                made += 1

    def person(self) -> tuple[str, str, date]:
        """A new Catalog_ФизическиеЛица row; about 1.5 % reuse an existing full name."""
        rng = self.rng
        if self.names_used and rng.random() < 0.015:
            surname, first, middle, female = rng.choice(self.names_used)
        else:
            female = rng.random() < 0.45
            surname = rng.choice(names.SURNAMES)
            surname = names.feminine_surname(surname) if female else surname
            first = rng.choice(names.FEMALE_NAMES if female else names.MALE_NAMES)
            middle = names.patronymic(rng.choice(names.MALE_NAMES), female)
            self.names_used.append((surname, first, middle, female))
        born = date(rng.randint(1960, 2006), rng.randint(1, 12), rng.randint(1, 28))
        full_name = f"{surname} {first} {middle}"
        self.person_number += 1
        row = self.store.insert(PERSONS, {
            "Parent_Key": rng.choice(self.company.person_folders) if rng.random() < 0.1 else EMPTY_GUID,
            "Code": f"{self.person_number:010d}", "Description": full_name, "ДатаРождения": iso(born),
            "Пол": "Женский" if female else "Мужской", "ИНН": _inn12(rng) if rng.random() < 0.9 else "",
            "СтраховойНомерПФР": _snils(rng) if rng.random() < 0.97 else "",
            "МестоРождения": rng.choice(names.CITIES), "ФИО": full_name, "Фамилия": surname, "Имя": first,
            "Отчество": middle, "Инициалы": f"{first[0]}.{middle[0]}.",
            "КонтактнаяИнформация": self.contacts(surname, first, born),
        }, trusted=True)
        return row[0], full_name, born

    def contacts(self, surname: str, first: str, born: date) -> tuple[tuple, ...]:
        """КонтактнаяИнформация rows: e-mail for ~80 %, mobile for ~95 %, some addresses."""
        rows: list[dict[str, str]] = []
        if self.rng.random() < 0.95:
            rows.append(phone_row(self.company.contact_kinds["ТелефонМобильныйФизическиеЛица"], self.rng))
        if self.rng.random() < 0.8:
            rows.append(email_row(self.company.contact_kinds["EMailФизическиеЛица"],
                                  email_address(self.rng, surname, first, born)))
        if self.rng.random() < 0.3:
            city = self.rng.choice(names.CITIES)
            text = f"{city}, ул. Ленина, д. {self.rng.randint(1, 120)}, кв. {self.rng.randint(1, 300)}"
            rows.append({"Тип": "Адрес", "Вид_Key": self.company.contact_kinds["АдресПоПропискеФизическиеЛица"],
                         "Представление": text, "Город": city, "Страна": "РОССИЯ"})
        self.rng.shuffle(rows)
        return contact_rows(rows)

    def employ(self, person: str, full_name: str, born: date, org: dict[str, str], kind: str,
               head: str = EMPTY_GUID, clarification: str = "", day: date | None = None) -> str:
        """A Сотрудники record with its history and vacations; hired on `day` or a random past day."""
        rng = self.rng
        earliest = max(FIRST_HIRE, date(born.year + 18, born.month, born.day))
        day = day or earliest + timedelta(days=rng.randint(0, max((self.today - earliest).days, 0)))
        placement = self.placement(org, kind)
        code = self.codes.get(org["ref"], 0) + 1
        self.codes[org["ref"]] = code
        description = f"{full_name} ({clarification})" if clarification else full_name
        employee = hr.hire(self.store, Hire(person, org["ref"], f"{org['prefix']}-{code:07d}", description,
                                            placement, day, head, clarification), trusted=True)
        end = self.career(employee, org, kind, day) if day < self.today else day
        self.vacations(employee, person, org["ref"], day, end)
        hr.refresh_balance_rows(self.store, employee, person, self.today)
        return employee

    def placement(self, org: dict[str, str], kind: str) -> Placement:
        rate = 1.0 if kind == "ОсновноеМестоРаботы" else self.rng.choice((0.25, 0.5, 0.5))
        return Placement(org["ref"], self.rng.choice(self.company.departments[org["ref"]]),
                         self.rng.choice(self.company.positions), kind, rate)

    def career(self, employee: str, org: dict[str, str], kind: str, hired: date) -> date:
        """Maybe a transfer, maybe a dismissal; returns the last working day (or today)."""
        rng, span = self.rng, (self.today - hired).days
        if span > 60 and rng.random() < 0.25:
            hr.transfer(self.store, employee, hired + timedelta(days=rng.randint(30, span - 1)),
                        self.placement(org, kind), trusted=True)
        if span > 30 and rng.random() < min(0.15 + span / 6000, 0.6):
            left = self.today - timedelta(days=rng.randint(1, span - 1))
            hr.dismiss(self.store, employee, left, trusted=True)
            if (self.today - left).days > 730 and rng.random() < 0.7:
                self.store.update(EMPLOYEES, employee, {"ВАрхиве": True}, trusted=True)
            return left
        return self.today

    def vacations(self, employee: str, person: str, org: str, hired: date, end: date) -> None:
        """Rights for the last (at most two) working years and the vacations taken in them."""
        starts = [hired]
        while (following := hr.year_after(starts[-1])) <= end:
            starts.append(following)
        for start in starts[-2:]:
            hr.grant_year(self.store, employee, self.company.main_vacation, start, trusted=True)
            room = (min(end, hr.year_after(start)) - start).days - 14
            if room > 0 and self.rng.random() < 0.7:
                day = start + timedelta(days=self.rng.randint(0, room))
                hr.take_vacation(self.store, employee, person, org, self.company.main_vacation, day,
                                 self.rng.choice((7, 14, 14, 28)), start, trusted=True)


def phone_row(kind: str, rng: random.Random) -> dict[str, str]:
    code, number = rng.randint(900, 999), rng.randint(0, 9999999)
    digits = f"{number:07d}"
    text = f"+7 {code} {digits[:3]}-{digits[3:5]}-{digits[5:]}"
    return {"Тип": "Телефон", "Вид_Key": kind, "Представление": text,
            "НомерТелефона": f"+7{code}{digits}", "НомерТелефонаБезКодов": digits}


def email_row(kind: str, address: str) -> dict[str, str]:
    return {"Тип": "АдресЭлектроннойПочты", "Вид_Key": kind, "Представление": address,
            "АдресЭП": address, "ДоменноеИмяСервера": address.split("@", 1)[1]}


def email_address(rng: random.Random, surname: str, first: str, born: date) -> str:
    login = rng.choice((f"{names.translit(first)}.{names.translit(surname)}",
                        f"{names.translit(surname)}{born.year % 100:02d}",
                        f"{names.translit(first)[0]}{names.translit(surname)}{rng.randint(1, 999)}"))
    return f"{login}@{rng.choice(names.EMAIL_DOMAINS)}"


def contact_rows(rows: list[dict[str, str]]) -> tuple[tuple, ...]:
    """Stored КонтактнаяИнформация rows (LineNumber as string, unset columns empty)."""
    return tuple(tuple(row.get(name, empty) for name, empty in CONTACT_COLUMNS)
                 for row in ({**row, "LineNumber": str(number)} for number, row in enumerate(rows, start=1)))


def _digits(rng: random.Random, count: int) -> list[int]:
    return [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(count - 1)]


def _check(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights)) % 11 % 10


def _inn10(rng: random.Random) -> str:
    """ИНН of a legal entity with a valid check digit."""
    digits = _digits(rng, 9)
    return "".join(map(str, digits + [_check(digits, (2, 4, 10, 3, 5, 9, 4, 6, 8))]))


def _inn12(rng: random.Random) -> str:
    """ИНН of a person with both check digits valid."""
    digits = _digits(rng, 10)
    digits.append(_check(digits, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
    digits.append(_check(digits, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
    return "".join(map(str, digits))


def _ogrn(rng: random.Random) -> str:
    head = "1" + "".join(map(str, _digits(rng, 11)))
    return head + str(int(head) % 11 % 10)


def _snils(rng: random.Random) -> str:
    """СНИЛС `XXX-XXX-XXX YY` with a valid checksum."""
    digits = [rng.randint(0, 9) for _ in range(9)]
    total = sum(d * (9 - i) for i, d in enumerate(digits))
    check = total if total < 100 else (0 if total in (100, 101) else total % 101 % 100)
    text = "".join(map(str, digits))
    return f"{text[:3]}-{text[3:6]}-{text[6:]} {check:02d}"
