"""Pure normalisers: 1C value quirks never leak into the domain model."""

from __future__ import annotations

import datetime as dt

import pytest

from onec import normalize
from onec.errors import OneCDataError
from onec.models import EmploymentType

PERSON_REF = "6F9D2C1D-3B7A-11EE-8A1C-00155D0A1F02"
EMAIL_KIND = "9b1e0f10-0a3f-11e3-93c0-001b11b25590"
PHONE_KIND = "9b1e0f12-0a3f-11e3-93c0-001b11b25590"
WORK_PHONE_KIND = "9b1e0f13-0a3f-11e3-93c0-001b11b25590"
KINDS = {
    EMAIL_KIND: "EMailФизическиеЛица",
    PHONE_KIND: "ТелефонМобильныйФизическиеЛица",
    WORK_PHONE_KIND: "ТелефонРабочийФизическиеЛица",
}


def person_row(**overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "Ref_Key": PERSON_REF, "DataVersion": "AAAACQAAAAA=", "DeletionMark": False,
        "Parent_Key": normalize.EMPTY_REF, "IsFolder": False, "Code": "0000000021",
        "Description": "Смирнова Анна Петровна", "ДатаРождения": "1990-04-12T00:00:00",
        "ИНН": "772012345678", "СтраховойНомерПФР": "123-456-789 01",
        "Фамилия": "Смирнова  ", "Имя": "Анна", "Отчество": "Петровна",
        "КонтактнаяИнформация": [
            {"LineNumber": "2", "Тип": "Телефон", "Вид_Key": PHONE_KIND, "Представление": "+7 916 123-45-67",
             "НомерТелефона": "+79161234567"},
            {"LineNumber": "1", "Тип": "Телефон", "Вид_Key": WORK_PHONE_KIND, "Представление": "+7 495 000-00-00",
             "НомерТелефона": "+74950000000"},
            {"LineNumber": "3", "Тип": "АдресЭлектроннойПочты", "Вид_Key": EMAIL_KIND,
             "Представление": "a.smirnova@example.ru", "АдресЭП": ""},
        ],
    }
    row.update(overrides)
    return row


def test_empty_reference_and_date_become_none() -> None:
    assert normalize.ref(normalize.EMPTY_REF) is None
    assert normalize.ref("") is None
    assert normalize.ref(PERSON_REF) == PERSON_REF.lower()
    assert normalize.date("0001-01-01T00:00:00") is None
    assert normalize.date("2023-08-14T00:00:00") == dt.date(2023, 8, 14)


def test_padded_strings_and_numbers_as_strings() -> None:
    assert normalize.text("           ") == ""
    assert normalize.optional_text("  0000-00017 ") == "0000-00017"
    assert normalize.number("1") == 1.0
    assert normalize.number(0.5) == 0.5
    assert normalize.boolean(None) is False


@pytest.mark.parametrize("bad", ["не-guid", 17])
def test_malformed_reference_is_a_clear_error_without_the_value(bad: object) -> None:
    with pytest.raises(OneCDataError, match="ФизическоеЛицо_Key") as info:
        normalize.ref(bad, "ФизическоеЛицо_Key")
    assert str(bad) not in str(info.value)


def test_malformed_date_and_number_are_errors() -> None:
    with pytest.raises(OneCDataError):
        normalize.date("14.08.2023")
    with pytest.raises(OneCDataError):
        normalize.number("много")


def test_person_contacts_matched_by_predefined_kind() -> None:
    person = normalize.person(person_row(), KINDS)
    assert person is not None
    assert person.last_name == "Смирнова"
    assert person.mobile_phone == "+79161234567"  # the work phone on line 1 is not the mobile
    assert person.email == "a.smirnova@example.ru"  # АдресЭП empty -> Представление
    assert person.birth_date == dt.date(1990, 4, 12)


def test_person_repr_hides_personal_data() -> None:
    person = normalize.person(person_row(), KINDS)
    text = repr(person)
    for secret in ("772012345678", "123-456-789 01", "+79161234567", "a.smirnova", "1990"):
        assert secret not in text
    assert "Смирнова" in text


def test_folder_is_not_a_person_and_deletion_mark_is_kept() -> None:
    assert normalize.person(person_row(IsFolder=True), KINDS) is None
    deleted = normalize.person(person_row(DeletionMark=True), KINDS)
    assert deleted is not None and deleted.deleted


def test_contact_kinds_not_in_the_catalog_are_ignored() -> None:
    person = normalize.person(person_row(), {"00000000-1111-2222-3333-444444444444": "Другое"})
    assert person is not None and person.email is None and person.mobile_phone is None


def test_without_the_kinds_catalog_contacts_are_inferred() -> None:
    person = normalize.person(person_row(), {})
    assert person is not None
    assert person.email == "a.smirnova@example.ru"
    assert person.mobile_phone == "+79161234567"  # +7 495 on line 1 is a landline


def test_employment_state_enum_and_dates() -> None:
    state = normalize.employment_state({
        "Сотрудник_Key": "6f9d2c1e-3b7a-11ee-8a1c-00155d0a1f02", "ФизическоеЛицо_Key": PERSON_REF,
        "ТекущаяОрганизация_Key": "1a2b3c4d-0000-11ee-8a1c-00155d0a1f02",
        "ТекущееПодразделение_Key": normalize.EMPTY_REF, "ТекущаяДолжность_Key": normalize.EMPTY_REF,
        "ДатаПриема": "2023-08-14T00:00:00", "ДатаУвольнения": "0001-01-01T00:00:00",
        "ТекущийВидЗанятости": "ВнутреннееСовместительство", "КоличествоСтавок": "0.5",
    })
    assert state.employment_type is EmploymentType.INTERNAL_PART_TIME
    assert state.department_ref is None and state.dismissal_date is None
    assert state.rate == 0.5
    assert state.is_active(dt.date(2024, 1, 1)) and not state.is_active(dt.date(2023, 1, 1))
    with pytest.raises(OneCDataError):
        normalize.employment_type("Стажировка")


def test_legal_entity_takes_kpp_from_its_tax_registration() -> None:
    registration = "11111111-2222-3333-4444-555555555555"
    kpp = normalize.kpp_by_registration([{"Ref_Key": registration, "КПП": "771001001"}])
    entity = normalize.legal_entity({
        "Ref_Key": "1a2b3c4d-0000-11ee-8a1c-00155d0a1f02", "Description": "ООО «Ромашка»   ",
        "НаименованиеПолное": "Общество с ограниченной ответственностью «Ромашка»", "ИНН": "7701234567",
        "ОГРН": "1027700000000", "РегистрацияВНалоговомОргане_Key": registration,
    }, kpp)
    assert entity.name == "ООО «Ромашка»" and entity.kpp == "771001001"
    assert normalize.legal_entity({"Ref_Key": entity.ref, "Description": "x"}, kpp).kpp is None


def test_department_root_and_employee_fields() -> None:
    department = normalize.department({
        "Ref_Key": "4c5d6e7f-1111-11ee-8a1c-00155d0a1f02", "Code": "000000001", "Description": "Склад",
        "Owner_Key": "1a2b3c4d-0000-11ee-8a1c-00155d0a1f02", "Parent_Key": normalize.EMPTY_REF,
        "Расформировано": True,
    })
    assert department.parent_ref is None and department.disbanded
    employee = normalize.employee({
        "Ref_Key": "6f9d2c1e-3b7a-11ee-8a1c-00155d0a1f02", "Code": "0000-00017 ", "Description": "Смирнова А.П.",
        "ФизическоеЛицо_Key": PERSON_REF, "ГоловнаяОрганизация_Key": normalize.EMPTY_REF, "ВАрхиве": False,
        "DeletionMark": False,
    })
    assert employee.personnel_number == "0000-00017" and employee.legal_entity_ref is None
