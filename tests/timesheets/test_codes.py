"""The T-13 list as data and the marks typed into a day cell."""
from __future__ import annotations

import pytest

from timesheets.codes import BadMark, DayValue, Mark, all_codes, code_source, format_hours, parse_day


def test_the_unified_list_has_all_36_codes_with_letters_and_numbers() -> None:
    codes = all_codes()
    assert len(codes) == 36
    assert [c.number for c in codes.values()] == [f"{n:02d}" for n in range(1, 37)]
    for letter in ("Я", "Н", "РВ", "С", "К", "ОТ", "ОД", "Б", "В", "НН", "ПР"):
        assert letter in codes
    assert codes["ОТ"].number == "09" and codes["В"].number == "26" and codes["НЗ"].number == "36"
    assert "Госкомстата России от 05.01.2004 № 1" in code_source()


@pytest.mark.parametrize(("typed", "text", "marks"), [
    ("8", "Я 8", (Mark("Я", 480),)),
    ("я 7,5", "Я 7,5", (Mark("Я", 450),)),
    ("7:30", "Я 7,5", (Mark("Я", 450),)),
    ("Я8 Н2", "Я/Н 8/2", (Mark("Я", 480), Mark("Н", 120))),
    ("Я/Н 8/2", "Я/Н 8/2", (Mark("Я", 480), Mark("Н", 120))),
    ("рв 11", "РВ 11", (Mark("РВ", 660),)),
    ("ОТ", "ОТ", (Mark("ОТ"),)),
    ("B", "В", (Mark("В"),)),  # a Latin B typed on an English layout
    ("  ", "", ()),
])
def test_typed_values_become_canonical_marks(typed: str, text: str, marks: tuple[Mark, ...]) -> None:
    value = parse_day(typed)
    assert value.text == text and value.marks == marks
    assert parse_day(value.text) == value


@pytest.mark.parametrize(("typed", "message"), [
    ("ОТ 8", "на весь день"),
    ("Я", "укажите часы"),
    ("ЖЖ", "не код табеля"),
    ("25", "не больше 24"),
    ("0", "больше 0"),
    ("Я 8 Н 8 С 8", "не больше 2 кодов"),
    ("Я 8 Я 2", "повторяется"),
    ("Я 20 Н 5", "не больше 24 часов"),
    ("7:75", "не больше 59"),
])
def test_bad_values_are_refused_in_russian(typed: str, message: str) -> None:
    with pytest.raises(BadMark, match=message):
        parse_day(typed)


def test_columns_round_trip_and_hours_format() -> None:
    value = DayValue((Mark("Я", 450), Mark("Н", 90)))
    assert DayValue.from_columns(*value.as_columns()) == value
    assert DayValue.from_columns("", None, None, None) == DayValue()
    assert value.worked_minutes == 540
    assert [format_hours(m) for m in (480, 450, 435, 20)] == ["8", "7,5", "7,25", "0,33"]
