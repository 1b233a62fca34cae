"""Pure parts: paginator windows, config validation, vacation arithmetic, hashing."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from onec.changes import row_hash
from onec.config import ConnectionConfig
from onec.errors import OneCConfigError
from onec.models import EmploymentState, EmploymentType, VacationKindBalance
from onec.odata import ODataSkipPaginator, keys_filter
from onec.vacation import VacationKind, add_months, earned, months_worked, vacation_balance


def test_paginator_overlaps_and_stops_on_a_short_page() -> None:
    paginator = ODataSkipPaginator(page_size=10, overlap=2)
    windows = []
    for received in (10, 12, 5):
        windows.append(paginator.next_window())
        paginator.advance(received)
    assert windows == [(10, 0), (12, 8), (12, 18)]
    assert paginator.finished


def test_paginator_rejects_overlap_as_large_as_a_page() -> None:
    with pytest.raises(ValueError):
        ODataSkipPaginator(page_size=5, overlap=5)


def test_keys_filter_is_an_or_of_guid_literals() -> None:
    assert keys_filter("Ref_Key", ["a", "b"]) == "Ref_Key eq guid'a' or Ref_Key eq guid'b'"


def base_config(**overrides: object) -> dict[str, object]:
    config: dict[str, object] = {"name": "zup", "mode": "odata", "url": "http://h/zup/odata/standard.odata/",
                                 "login": "Администратор", "password_env": "ONEC_TEST_PASSWORD"}
    config.update(overrides)
    return config


def test_config_parses_nested_sections_and_keeps_default_documents() -> None:
    config = ConnectionConfig.from_dict(base_config(
        timeouts={"connect": 3, "read": 30}, paging={"page_size": 500},
        request_documents={"vacation": "Document_МояЗаявка"},
    ))
    assert config.timeouts.connect == 3.0 and config.timeouts.operation == 300.0
    assert config.paging.page_size == 500
    assert config.request_documents == {"vacation": "Document_МояЗаявка"}


@pytest.mark.parametrize("bad", [
    {"mode": "ftp"}, {"url": ""}, {"extra": 1}, {"timeouts": {"conect": 1}}, {"paging": {"page_size": "много"}},
    {"paging": {"key_batch": 0}}, {"timeouts": {"read": 0}},
])
def test_config_errors_are_clear(bad: dict[str, object]) -> None:
    with pytest.raises(OneCConfigError):
        ConnectionConfig.from_dict(base_config(**bad))


def test_missing_password_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEC_TEST_PASSWORD", raising=False)
    with pytest.raises(OneCConfigError, match="ONEC_TEST_PASSWORD"):
        ConnectionConfig.from_dict(base_config()).password()


def test_a_resolved_password_wins_and_is_not_accepted_from_the_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ONEC_TEST_PASSWORD", raising=False)
    config = ConnectionConfig.from_dict(base_config())
    assert replace(config, resolved_password="секрет").password() == "секрет"
    assert "секрет" not in repr(replace(config, resolved_password="секрет"))
    with pytest.raises(OneCConfigError):
        ConnectionConfig.from_dict(base_config(resolved_password="секрет"))


K1 = "6bf7b513-3372-8eca-aae8-dca987824615"
K2 = "7f1491ae-5d91-70b3-9c8b-eeca28f27980"

MAIN = VacationKind(K1, "Основной отпуск", 28.0, True)
EXTRA = VacationKind(K2, "Дополнительный", 7.0, False)
STATE = EmploymentState("e", None, None, None, None, dt.date(2024, 1, 1), None, EmploymentType.MAIN, 1.0)
TAKEN = [{"ВидЕжегодногоОтпуска_Key": K1, "Количество": 14, "ДатаНачала": "2024-07-01T00:00:00"},
         {"ВидЕжегодногоОтпуска_Key": K1, "Количество": "5", "ДатаНачала": "2025-03-01T00:00:00"}]


@pytest.mark.parametrize(("start", "end", "months"), [
    (dt.date(2024, 1, 1), dt.date(2024, 12, 31), 12.0),
    (dt.date(2024, 1, 1), dt.date(2024, 1, 31), 1.0),
    (dt.date(2024, 1, 15), dt.date(2024, 2, 14), 1.0),
    (dt.date(2024, 1, 15), dt.date(2024, 2, 28), 1 + 14 / 29),  # 15.02-14.03 is a 29-day month of work
    (dt.date(2024, 1, 31), dt.date(2024, 2, 28), 1.0),  # ДобавитьМесяц(31.01, 1) = 29.02 in a leap year
    (dt.date(2023, 2, 28), dt.date(2024, 2, 28), 12 + 1 / 29),
    (dt.date(2024, 2, 29), dt.date(2025, 2, 27), 12.0),  # ДобавитьМесяц(29.02.2024, 12) = 28.02.2025
    (dt.date(2024, 3, 1), dt.date(2024, 2, 29), 0.0),
])
def test_months_worked_count_working_year_months_from_the_start(start: dt.date, end: dt.date,
                                                                 months: float) -> None:
    assert months_worked(start, end) == pytest.approx(months)


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)
    assert add_months(dt.date(2024, 11, 30), 3) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 12, 31), 12) == dt.date(2025, 12, 31)


def test_earned_days_stop_at_the_dismissal() -> None:
    dismissed = EmploymentState("e", None, None, None, None, dt.date(2024, 1, 1), dt.date(2024, 3, 31), None, 1.0)
    assert earned(MAIN, dismissed, dt.date(2024, 12, 31)) == pytest.approx(7.0)  # 3 months x 28 / 12
    assert earned(MAIN, None, dt.date(2024, 12, 31)) == 0.0


def test_balance_moves_from_the_anchor_by_accrual_and_vacations() -> None:
    anchor = [{"ВидЕжегодногоОтпуска_Key": K1, "Дата": "2024-12-31T00:00:00", "ОстатокДней": 10.0}]
    kinds = {K1: MAIN, K2: EXTRA}
    after = vacation_balance("e", dt.date(2025, 12, 31), STATE, anchor, TAKEN, kinds)
    assert after.days == 33.0  # 10 + 28 accrued in 2025 - 5 taken in March
    before = vacation_balance("e", dt.date(2024, 6, 30), STATE, anchor, TAKEN, kinds)
    assert before.days == round(10 - 28 / 2 + 14, 2)  # six months accrued back, the July vacation added back
    assert before.by_kind == (VacationKindBalance("Основной отпуск", before.days),)


def test_without_an_anchor_the_main_kind_accrues_from_hire() -> None:
    balance = vacation_balance("e", dt.date(2024, 12, 31), STATE, [], TAKEN, {K1: MAIN, K2: EXTRA})
    assert balance.days == 28 - 14


def test_row_hash_depends_on_selected_fields_only() -> None:
    row = {"a": 1, "b": "x", "noise": 5}
    assert row_hash(row, ["a", "b"]) == row_hash({**row, "noise": 6}, ["a", "b"])
    assert row_hash(row, ["a", "b"]) != row_hash({**row, "b": "y"}, ["a", "b"])
