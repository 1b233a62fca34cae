"""The query engine and a real server's paging traps (emulators/onec/query.py)."""
from __future__ import annotations

import requests

from emulators.onec import RunningOneC

from .conftest import rows

EMPLOYEES = "Catalog_Сотрудники"
STATES = "InformationRegister_ТекущиеКадровыеДанныеСотрудников"


def test_filter_eq_guid_uses_the_right_rows(http: requests.Session, zup: RunningOneC) -> None:
    everyone = rows(http, zup, EMPLOYEES)
    org = everyone[0]["ГоловнаяОрганизация_Key"]
    picked = rows(http, zup, EMPLOYEES, **{"$filter": f"ГоловнаяОрганизация_Key eq guid'{org}'"})
    assert {e["Ref_Key"] for e in picked} == {e["Ref_Key"] for e in everyone if e["ГоловнаяОрганизация_Key"] == org}
    other = rows(http, zup, EMPLOYEES, **{"$filter": f"ГоловнаяОрганизация_Key ne guid'{org}'"})
    assert len(picked) + len(other) == len(everyone)


def test_filter_dates_booleans_and_logic(http: requests.Session, zup: RunningOneC) -> None:
    states = rows(http, zup, STATES)
    expected = {s["Сотрудник_Key"] for s in states
                if s["ДатаПриема"] >= "2020-01-01T00:00:00" and (
                    s["ДатаУвольнения"] == "0001-01-01T00:00:00" or not s["ОсновноеРабочееМестоВОрганизации"])}
    query = ("ДатаПриема ge datetime'2020-01-01T00:00:00' and (ДатаУвольнения eq datetime'0001-01-01T00:00:00' "
             "or not (ОсновноеРабочееМестоВОрганизации eq true))")
    assert {s["Сотрудник_Key"] for s in rows(http, zup, STATES, **{"$filter": query})} == expected
    newer = rows(http, zup, STATES, **{"$filter": "ДатаПриема gt datetime'2025-06-01T00:00:00'"})
    assert all(s["ДатаПриема"] > "2025-06-01T00:00:00" for s in newer) and newer
    small = rows(http, zup, STATES, **{"$filter": "КоличествоСтавок lt 1"})
    assert small and all(s["КоличествоСтавок"] < 1 for s in small)


def test_filter_string_escaping_and_substringof(http: requests.Session, zup: RunningOneC) -> None:
    created = http.post(zup.odata_url + "Catalog_Должности", params={"$format": "json"},
                        json={"Description": "Оператор д'Артаньян"})
    assert created.status_code == 201
    found = rows(http, zup, "Catalog_Должности", **{"$filter": "Description eq 'Оператор д''Артаньян'"})
    assert [p["Ref_Key"] for p in found] == [created.json()["Ref_Key"]]
    like = rows(http, zup, "Catalog_Должности", **{"$filter": "substringof('Артаньян', Description)"})
    assert [p["Ref_Key"] for p in like] == [created.json()["Ref_Key"]]


def test_line_number_filter_compares_as_number(http: requests.Session, zup: RunningOneC) -> None:
    lines = rows(http, zup, "Catalog_ФизическиеЛица_КонтактнаяИнформация", **{"$filter": "LineNumber ge 2"})
    assert lines and all(int(line["LineNumber"]) >= 2 for line in lines)


def test_select_top_skip_orderby(http: requests.Session, zup: RunningOneC) -> None:
    ordered = rows(http, zup, EMPLOYEES, **{"$orderby": "Code desc", "$select": "Ref_Key,Code"})
    assert all(set(e) == {"Ref_Key", "Code"} for e in ordered)
    codes = [e["Code"] for e in ordered]
    assert codes == sorted(codes, reverse=True)
    page = rows(http, zup, EMPLOYEES, **{"$orderby": "Code desc", "$select": "Code", "$skip": "10", "$top": "5"})
    assert [e["Code"] for e in page] == codes[10:15]


def test_inlinecount_is_a_string_and_count_segment(http: requests.Session, zup: RunningOneC) -> None:
    body = http.get(zup.odata_url + EMPLOYEES, params={"$format": "json", "$top": "3",
                                                       "$inlinecount": "allpages", "allowedOnly": "true"}).json()
    total = len(rows(http, zup, EMPLOYEES))
    assert body["odata.count"] == str(total) and len(body["value"]) == 3
    counted = http.get(zup.odata_url + EMPLOYEES + "/$count", params={"$filter": "ВАрхиве eq true"})
    archived = [e for e in rows(http, zup, EMPLOYEES) if e["ВАрхиве"]]
    assert counted.text == str(len(archived))


def test_ref_key_range_filter_fails_like_1c(http: requests.Session, zup: RunningOneC) -> None:
    for op in ("gt", "lt", "ge", "le"):
        response = http.get(zup.odata_url + EMPLOYEES, params={
            "$format": "json", "$filter": f"Ref_Key {op} guid'00000000-0000-0000-0000-000000000000'"})
        assert response.status_code == 500
        message = response.json()["odata.error"]["message"]["value"]
        assert message == "Нельзя сравнивать поля неограниченной длины и поля несовместимых типов"


def test_orderby_ref_key_is_auto_order_not_guid_order(http: requests.Session, zup: RunningOneC) -> None:
    ordered = rows(http, zup, EMPLOYEES, **{"$orderby": "Ref_Key"})
    keys = [e["Ref_Key"] for e in ordered]
    assert keys != sorted(keys)
    assert [(e["Description"], e["Code"]) for e in ordered] == sorted((e["Description"], e["Code"]) for e in ordered)


def test_physical_order_is_unstable_without_orderby(http: requests.Session, zup: RunningOneC) -> None:
    orders = {tuple(e["Ref_Key"] for e in rows(http, zup, EMPLOYEES, **{"$select": "Ref_Key"})) for _ in range(5)}
    assert len(orders) > 1
    assert len({frozenset(order) for order in orders}) == 1


def test_paging_with_orderby_is_complete_and_without_it_is_not_reliable(
        http: requests.Session, zup: RunningOneC) -> None:
    everyone = {e["Ref_Key"] for e in rows(http, zup, EMPLOYEES, **{"$select": "Ref_Key"})}

    def read(extra: dict[str, str]) -> list[str]:
        keys: list[str] = []
        for skip in range(0, len(everyone), 40):
            keys += [e["Ref_Key"] for e in rows(http, zup, EMPLOYEES, **{"$top": "40", "$skip": str(skip),
                                                                          "$select": "Ref_Key", **extra})]
        return keys

    stable = read({"$orderby": "Ref_Key"})
    assert len(stable) == len(set(stable)) == len(everyone)
    attempts = [read({}) for _ in range(3)]
    assert any(len(set(keys)) < len(everyone) for keys in attempts)
