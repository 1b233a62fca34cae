"""Pure functions turning 1C OData JSON rows into domain objects (onec.models).

They hide the 1C value quirks: zero GUIDs and ``0001-01-01`` dates mean "empty",
fixed-length strings come right-padded, Int64 numbers come as strings, enums come as value names.
Error messages name the field, never the value (it may be personal data).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from onec.errors import OneCDataError
from onec.models import (
    Department,
    Employee,
    EmploymentState,
    EmploymentType,
    LegalEntity,
    Person,
    Position,
)

Row = Mapping[str, Any]

EMPTY_REF = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE_PREFIX = "0001-01-01"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

EMAIL_KINDS = frozenset({"EMailФизическиеЛица"})
MOBILE_PHONE_KINDS = frozenset({"ТелефонМобильныйФизическиеЛица"})

MOBILE_NUMBER = re.compile(r"^[78]9\d{9}$")

EMPLOYMENT_TYPES = {
    "ОсновноеМестоРаботы": EmploymentType.MAIN,
    "Совместительство": EmploymentType.EXTERNAL_PART_TIME,
    "ВнутреннееСовместительство": EmploymentType.INTERNAL_PART_TIME,
    "Подработка": EmploymentType.SIDE_JOB,
}


def _field(row: Row, name: str) -> Any:
    try:
        return row[name]
    except KeyError:
        raise OneCDataError(f"1C row has no field {name!r}") from None


def ref(value: Any, name: str = "ref") -> str | None:
    """A reference: lower-case GUID, or None for the empty reference. Interned: the same department,
    organisation or person named by 50,000 records is one string, not 50,000 copies."""
    if value is None or value == "" or value == EMPTY_REF:
        return None
    if not isinstance(value, str) or not _GUID.match(value):
        raise OneCDataError(f"field {name!r} is not a GUID")
    return sys.intern(value.lower())


def required_ref(value: Any, name: str = "Ref_Key") -> str:
    """A reference that must not be empty (an object's own key)."""
    result = ref(value, name)
    if result is None:
        raise OneCDataError(f"field {name!r} is empty")
    return result


def date(value: Any, name: str = "date") -> dt.date | None:
    """A 1C date: ``0001-01-01T00:00:00`` and empty mean None; the time part is dropped."""
    if value is None or value == "" or str(value).startswith(EMPTY_DATE_PREFIX):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise OneCDataError(f"field {name!r} is not a date") from None


def text(value: Any) -> str:
    """A string with the fixed-length padding stripped; None becomes ''."""
    return "" if value is None else str(value).strip()


def name_part(value: Any) -> str:
    """A last, first or middle name (``text``), interned: names repeat (patronymics and first names come
    from a few hundred), and 50,000 people's copies of them were ≈ 10 MB of a run's peak memory."""
    return sys.intern(text(value))


def optional_text(value: Any) -> str | None:
    """Like ``text`` but an empty string becomes None."""
    return text(value) or None


def number(value: Any, name: str = "number") -> float:
    """A number that 1C may send as a JSON number or (Int64) as a string."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        raise OneCDataError(f"field {name!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise OneCDataError(f"field {name!r} is not a number") from None


def boolean(value: Any) -> bool:
    """A 1C boolean; ``null`` (unset composite) is False."""
    return bool(value) if value is not None else False


def employment_type(value: Any) -> EmploymentType | None:
    """ТекущийВидЗанятости enum name -> EmploymentType ('' -> None)."""
    name = text(value)
    if not name:
        return None
    try:
        return EMPLOYMENT_TYPES[name]
    except KeyError:
        raise OneCDataError("field 'ТекущийВидЗанятости' has an unknown value") from None


def is_folder(row: Row) -> bool:
    """A group row of a hierarchical catalog (not an object)."""
    return boolean(row.get("IsFolder"))


def contact_kinds(rows: Iterable[Row]) -> dict[str, str]:
    """Catalog_ВидыКонтактнойИнформации rows -> {kind ref: PredefinedDataName}."""
    kinds = {}
    for row in rows:
        name = text(row.get("PredefinedDataName"))
        if name:
            kinds[required_ref(row.get("Ref_Key"))] = name
    return kinds


def _contact(rows: Iterable[Row], kinds: Mapping[str, str], wanted: frozenset[str], value_field: str) -> str | None:
    lines = sorted(rows, key=lambda line: int(number(line.get("LineNumber"), "LineNumber")))
    for line in lines:
        if _kind_name(line, kinds) in wanted:
            value = optional_text(line.get(value_field)) or optional_text(line.get("Представление"))
            if value:
                return value
    return None


def _kind_name(line: Row, kinds: Mapping[str, str]) -> str:
    """PredefinedDataName of a contact line's kind.

    b24sync may send it inline as ``Вид``; without it and without the kinds catalog (SOAP mode)
    the kind is inferred from ``Тип`` and, for phones, from a Russian mobile number (+7 9xx).
    """
    known = kinds.get(ref(line.get("Вид_Key"), "Вид_Key") or "") or text(line.get("Вид"))
    return known or ("" if kinds else _inferred_kind(line))


def _inferred_kind(line: Row) -> str:
    kind = text(line.get("Тип"))
    if kind == "АдресЭлектроннойПочты":
        return next(iter(EMAIL_KINDS))
    digits = re.sub(r"\D", "", text(line.get("НомерТелефона")) or text(line.get("Представление")))
    if kind == "Телефон" and MOBILE_NUMBER.match(digits):
        return next(iter(MOBILE_PHONE_KINDS))
    return ""


def legal_entity(row: Row, kpp_by_registration: Mapping[str, str]) -> LegalEntity:
    """Catalog_Организации row; КПП looked up by РегистрацияВНалоговомОргане_Key (b24sync sends it inline)."""
    registration = ref(row.get("РегистрацияВНалоговомОргане_Key"), "РегистрацияВНалоговомОргане_Key")
    inline_kpp = optional_text(row.get("КПП"))
    return LegalEntity(
        ref=required_ref(row.get("Ref_Key")),
        name=text(_field(row, "Description")),
        full_name=text(row.get("НаименованиеПолное")),
        inn=text(row.get("ИНН")),
        kpp=inline_kpp or (kpp_by_registration.get(registration) if registration else None),
        ogrn=text(row.get("ОГРН")),
        deleted=boolean(row.get("DeletionMark")),
    )


def kpp_by_registration(rows: Iterable[Row]) -> dict[str, str]:
    """Catalog_РегистрацииВНалоговомОргане rows -> {registration ref: КПП}."""
    return {required_ref(row.get("Ref_Key")): text(row.get("КПП")) for row in rows}


def department(row: Row) -> Department:
    """Catalog_ПодразделенияОрганизаций row."""
    return Department(
        ref=required_ref(row.get("Ref_Key")),
        legal_entity_ref=ref(row.get("Owner_Key"), "Owner_Key"),
        parent_ref=ref(row.get("Parent_Key"), "Parent_Key"),
        code=text(row.get("Code")),
        name=text(_field(row, "Description")),
        disbanded=boolean(row.get("Расформировано")),
        deleted=boolean(row.get("DeletionMark")),
    )


def position(row: Row) -> Position:
    """Catalog_Должности row."""
    return Position(
        ref=required_ref(row.get("Ref_Key")),
        name=text(_field(row, "Description")),
        deleted=boolean(row.get("DeletionMark")),
    )


def person(row: Row, kinds: Mapping[str, str]) -> Person | None:
    """Catalog_ФизическиеЛица row with its КонтактнаяИнформация; None for a folder."""
    if is_folder(row):
        return None
    contacts = row.get("КонтактнаяИнформация") or []
    return Person(
        ref=required_ref(row.get("Ref_Key")),
        last_name=name_part(row.get("Фамилия")),
        first_name=name_part(row.get("Имя")),
        middle_name=name_part(row.get("Отчество")),
        birth_date=date(row.get("ДатаРождения"), "ДатаРождения"),
        email=_contact(contacts, kinds, EMAIL_KINDS, "АдресЭП"),
        mobile_phone=_contact(contacts, kinds, MOBILE_PHONE_KINDS, "НомерТелефона"),
        snils=optional_text(row.get("СтраховойНомерПФР")),
        inn=optional_text(row.get("ИНН")),
        deleted=boolean(row.get("DeletionMark")),
    )


def employee(row: Row) -> Employee:
    """Catalog_Сотрудники row."""
    return Employee(
        ref=required_ref(row.get("Ref_Key")),
        person_ref=ref(row.get("ФизическоеЛицо_Key"), "ФизическоеЛицо_Key"),
        legal_entity_ref=ref(row.get("ГоловнаяОрганизация_Key"), "ГоловнаяОрганизация_Key"),
        personnel_number=text(row.get("Code")),
        name=text(_field(row, "Description")),
        archived=boolean(row.get("ВАрхиве")),
        deleted=boolean(row.get("DeletionMark")),
    )


def employment_state(row: Row) -> EmploymentState:
    """InformationRegister_ТекущиеКадровыеДанныеСотрудников row."""
    return EmploymentState(
        employee_ref=required_ref(row.get("Сотрудник_Key"), "Сотрудник_Key"),
        person_ref=ref(row.get("ФизическоеЛицо_Key"), "ФизическоеЛицо_Key"),
        organization_ref=ref(row.get("ТекущаяОрганизация_Key"), "ТекущаяОрганизация_Key"),
        department_ref=ref(row.get("ТекущееПодразделение_Key"), "ТекущееПодразделение_Key"),
        position_ref=ref(row.get("ТекущаяДолжность_Key"), "ТекущаяДолжность_Key"),
        hire_date=date(row.get("ДатаПриема"), "ДатаПриема"),
        dismissal_date=date(row.get("ДатаУвольнения"), "ДатаУвольнения"),
        employment_type=employment_type(row.get("ТекущийВидЗанятости")),
        rate=number(row.get("КоличествоСтавок"), "КоличествоСтавок"),
    )
