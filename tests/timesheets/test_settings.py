"""The timesheets: section of app.yaml: typed settings, and a clear Russian error naming the key."""
from __future__ import annotations

import datetime as dt

import pytest

from timesheets.schedules import FIVE_TWO, Schedule
from timesheets.settings import load_settings


def test_defaults_and_a_full_section() -> None:
    assert load_settings({}).schedule_for("any") == FIVE_TWO
    settings = load_settings({
        "schedules": {"default": {"kind": "5/2", "hours": 7}, "dep-2": {"kind": "2/2", "hours": 11, "anchor": "2026-01-01"},
                      "dep-3": {"kind": "1/3", "hours": 24, "night_hours": 8, "anchor": dt.date(2026, 1, 2)}},
        "clients": {"romashka": {"name": "ООО «Ромашка»", "departments": ["dep-2", "dep-3"]}},
        "calendar": {"shortened_days": ["2024-12-28"]},
        "close_day": 3, "remind_days_before": [2]})
    assert settings.schedule_for("dep-1") == Schedule(minutes=420)
    assert settings.schedule_for("dep-2") == Schedule("shift", 660, 0, 2, 2, dt.date(2026, 1, 1))
    assert settings.schedule_for("dep-3").night_minutes == 480
    assert settings.client_of("dep-3").name == "ООО «Ромашка»"
    assert settings.client_of("dep-9", "Склад Подольск").key == "dep-9"
    assert settings.calendar().day(dt.date(2024, 12, 28)).shortened
    assert settings.close_date(dt.date(2026, 12, 1)) == dt.date(2027, 1, 3)


@pytest.mark.parametrize(("section", "message"), [
    ({"colour": 1}, "timesheets: неизвестные ключи"),
    ({"schedules": {"d": {"kind": "3/3", "anchor": "2026-01-01"}}}, "timesheets.schedules.d.kind: 5/2, 2/2 или 1/3"),
    ({"schedules": {"d": {"kind": "2/2"}}}, "timesheets.schedules.d.anchor"),
    ({"schedules": {"d": {"kind": "2/2", "anchor": "вчера"}}}, "ГГГГ-ММ-ДД"),
    ({"schedules": {"d": {"hours": 30}}}, "timesheets.schedules.d.hours: число часов от 0 до 24"),
    ({"schedules": {"d": {"hours": 8, "night_hours": 2}}}, "только для сменных"),
    ({"brigade_leaders": {"d": 41}}, "timesheets.brigade_leaders: бригадиры задаются в одном месте — cabinet"),
    ({"clients": {"a": {"name": "А", "departments": ["d"]}, "b": {"name": "Б", "departments": ["d"]}}},
     "уже отнесено"),
    ({"close_day": 31}, "timesheets.close_day: целое число больше нуля не больше 28"),
    ({"calendar": {"shortened_days": "2024-11-02"}}, "список дат"),
    ({"onec": {"time_kind": "Явка"}}, "timesheets.onec.time_kind: Ref_Key элемента «Явка»"),
    ({"onec": {"connection": ""}}, "timesheets.onec.connection: имя подключения"),
])
def test_bad_sections_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_settings(section)
