"""OData client against the emulator over HTTP: auth, paging, errors, never partial-as-complete."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from click.testing import CliRunner

from onec.cli import make_group
from onec.config import OneCSettings
from onec.errors import (
    ODataServerError,
    ODataSetNotPublished,
    OneCAuthError,
    OneCError,
    OneCTimeout,
)
from onec.odata_source import ODataSource
from onec.source import ZupSource


def refs(records: Any) -> list[str]:
    return [record.ref for record in records]


def test_cyrillic_login_reads_every_kind(zup: Any, make_source: Callable[..., ZupSource]) -> None:
    assert not zup.login.isascii()
    source = make_source()
    employees = list(source.employees())
    persons = list(source.persons())
    assert len(employees) >= 200
    assert {e.person_ref for e in employees} <= {p.ref for p in persons}
    assert list(source.legal_entities()) and list(source.departments()) and list(source.positions())
    assert any(p.email for p in persons) and any(p.mobile_phone for p in persons)


def test_wrong_password_is_an_auth_error(make_source: Callable[..., ZupSource],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WRONG_PASSWORD", "не тот пароль")
    with pytest.raises(OneCAuthError):
        list(make_source(password_env="WRONG_PASSWORD").positions())


def test_small_pages_return_the_same_rows_as_one_big_page(make_source: Callable[..., ZupSource]) -> None:
    small = refs(make_source(paging={"page_size": 7, "scan_page_size": 11}).employees())
    big = refs(make_source(paging={"page_size": 5000, "scan_page_size": 5000}).employees())
    assert len(small) == len(set(small))
    assert sorted(small) == sorted(big)


def test_paging_stays_correct_while_data_changes(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    source = make_source(paging={"page_size": 10, "scan_page_size": 40})
    yielded = []
    for number, employee in enumerate(source.employees()):
        yielded.append(employee.ref)
        if number % 10 == 5 and number < 150:  # mutate while paging, not after the read ended
            hooks("POST", "mutate", {"percent": 3.0, "seed": number})
    after = set(refs(make_source(paging={"page_size": 5000}).employees()))
    assert len(yielded) == len(set(yielded)), "a row was doubled"
    assert after <= set(yielded), "a row that exists at the end was lost"


def test_unpublished_set_names_the_set(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    hooks("POST", "unpublish", {"sets": ["Catalog_Должности"]})
    with pytest.raises(ODataSetNotPublished, match="Catalog_Должности") as info:
        list(make_source().positions())
    assert "опубликуйте" in str(info.value).lower()


def test_check_lists_every_set_to_publish(connection: dict[str, Any], hooks: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    hooks("POST", "unpublish", {"sets": ["Catalog_Должности", "InformationRegister_ТекущиеКадровыеДанныеСотрудников"]})
    result = CliRunner().invoke(make_group(OneCSettings), ["check", "--url", connection["url"], "--login", connection["login"],
                                        "--password-env", connection["password_env"]])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "OK  Catalog_Сотрудники" in lines
    to_publish = lines[lines.index(next(line for line in lines if "опубликовать" in line)) + 1:]
    assert to_publish == ["  - Catalog_Должности", "  - InformationRegister_ТекущиеКадровыеДанныеСотрудников"]


def test_required_sets_cover_everything_read(make_source: Callable[..., ZupSource]) -> None:
    source = make_source()
    assert isinstance(source, ODataSource)
    assert {"Catalog_Сотрудники", "Catalog_ФизическиеЛица", "Catalog_ВидыКонтактнойИнформации",
            "InformationRegister_ТекущиеКадровыеДанныеСотрудников", "Document_Отпуск"} <= set(
        source.required_sets())
    assert all(error is None for error in source.check().values())


def test_500_mid_read_raises_after_partial_rows(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    hooks("POST", "faults", {"kind": "500", "on_call": 3, "set": "Catalog_Сотрудники"})
    received = []
    with pytest.raises(ODataServerError):
        for employee in make_source().employees():
            received.append(employee)
    assert received, "the fault should hit after the first pages"


def test_500_mid_read_fails_the_whole_change_set(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    source = make_source()
    bookmark = source.snapshot()
    hooks("POST", "mutate", {"percent": 5.0, "seed": 7})
    hooks("POST", "faults", {"kind": "500", "on_call": 2, "set": "Catalog_ФизическиеЛица"})
    with pytest.raises(ODataServerError):
        source.changes(bookmark)


def test_timeout_mid_read_raises_after_partial_rows(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    hooks("POST", "faults", {"kind": "slow", "on_call": 3, "delay_s": 1.5, "set": "Catalog_Сотрудники"})
    received = []
    with pytest.raises(OneCTimeout):
        for employee in make_source(timeouts={"connect": 2, "read": 0.3}, retry={"attempts": 1}).employees():
            received.append(employee)
    assert received


def test_timeouts_are_retried_then_raised(make_source: Callable[..., ZupSource], hooks: Any) -> None:
    hooks("POST", "faults", {"kind": "slow", "rate": 1.0, "delay_s": 1.5, "set": "Catalog_Должности"})
    source = make_source(timeouts={"connect": 2, "read": 0.3})
    with pytest.raises(OneCTimeout):
        list(source.positions())


def test_one_dropped_connection_is_retried_and_the_read_completes(make_source: Callable[..., ZupSource],
                                                                  hooks: Any) -> None:
    expected = sorted(refs(make_source().employees()))
    hooks("POST", "faults", {"kind": "drop", "on_call": 2, "set": "Catalog_Сотрудники"})
    assert sorted(refs(make_source().employees())) == expected


def test_bad_employee_ref_is_a_clear_error(make_source: Callable[..., ZupSource]) -> None:
    with pytest.raises(OneCError, match="GUID"):
        make_source().vacation_balance("not-a-guid", dt.date(2025, 1, 1))


def test_read_command_counts_every_kind(connection: dict[str, Any]) -> None:
    result = CliRunner().invoke(make_group(OneCSettings), ["read", "--url", connection["url"], "--login", connection["login"],
                                       "--password-env", connection["password_env"]])
    assert result.exit_code == 0, result.output
    counts = dict(line.split(": ") for line in result.output.splitlines())
    assert int(counts["employees"]) >= 200 and int(counts["legal_entities"]) == 3


def test_paging_avoids_the_known_1c_traps(make_source: Callable[..., ZupSource]) -> None:
    """No keyset paging on Ref_Key (1C answers 500); every $top/$skip page has an explicit $orderby."""
    session = requests.Session()
    queries: list[dict[str, list[str]]] = []
    session.hooks["response"].append(lambda response, *a, **k: queries.append(
        parse_qs(urlsplit(response.request.url or "").query)))
    source = make_source(session=session)
    list(source.employees())
    source.changes(source.snapshot())
    paged = [query for query in queries if "$top" in query]
    assert paged and all("$orderby" in query and "$select" in query for query in paged)
    assert all(" gt " not in text for query in queries for text in query.get("$filter", []))
    assert all(query["$format"] == ["json"] for query in queries)


def test_the_register_and_the_employee_cards_come_grouped_by_person(make_source: Callable[..., ZupSource]) -> None:
    """``employments_by_person``: a person's rows follow each other across pages (the sync decides a person
    once another person's rows follow); the cards come in the same order."""
    source = make_source(paging={"page_size": 7, "scan_page_size": 11})
    assert source.employments_by_person
    for persons in ([state.person_ref for state in source.employments()],
                    [employee.person_ref for employee in source.employees()]):
        runs = [person for at, person in enumerate(persons) if at == 0 or persons[at - 1] != person]
        assert len(runs) == len(set(runs)) > 100
