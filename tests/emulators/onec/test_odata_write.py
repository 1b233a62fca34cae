"""Writes: POST/PATCH/DELETE, Post/Unpost, DataVersion bumps, tabular rows (1C Developer Guide,
«Methods of modifying data»; sources in emulators/onec/__init__.py)."""
from __future__ import annotations

import requests

from emulators.onec import RunningOneC

from .conftest import rows

PERSONS = "Catalog_ФизическиеЛица"


def entity_url(zup: RunningOneC, set_name: str, ref: str) -> str:
    return f"{zup.odata_url}{set_name}(guid'{ref}')"


def test_post_creates_with_201_and_full_entity(http: requests.Session, zup: RunningOneC) -> None:
    response = http.post(zup.odata_url + PERSONS, params={"$format": "json"}, json={
        "Description": "Тестова Анна Ивановна", "Фамилия": "Тестова", "Пол": "Женский",
        "КонтактнаяИнформация": [{"Тип": "АдресЭлектроннойПочты", "АдресЭП": "a@test.ru"}]})
    assert response.status_code == 201
    body = response.json()
    assert body["odata.metadata"].endswith("#Catalog_ФизическиеЛица/@Element")
    assert body["ДатаРождения"] == "0001-01-01T00:00:00" and body["DataVersion"]
    assert body["КонтактнаяИнформация"][0]["LineNumber"] == "1"
    assert body["КонтактнаяИнформация"][0]["Ref_Key"] == body["Ref_Key"]


def test_patch_replaces_tabular_part_and_bumps_data_version(http: requests.Session, zup: RunningOneC) -> None:
    person = next(p for p in rows(http, zup, PERSONS) if len(p["КонтактнаяИнформация"]) >= 2)
    url = entity_url(zup, PERSONS, person["Ref_Key"])
    patched = http.patch(url, params={"$format": "json"}, json={
        "Имя": "Изменено", "КонтактнаяИнформация": [{"LineNumber": "1", "Тип": "Телефон",
                                                     "НомерТелефона": "+79990000000"}]})
    assert patched.status_code == 200
    again = http.get(url, params={"$format": "json"}).json()
    assert again["Имя"] == "Изменено" and again["Фамилия"] == person["Фамилия"]
    assert [line["НомерТелефона"] for line in again["КонтактнаяИнформация"]] == ["+79990000000"]
    assert again["DataVersion"] != person["DataVersion"]


def test_bad_values_are_refused_with_clear_errors(http: requests.Session, zup: RunningOneC) -> None:
    bad_date = http.post(zup.odata_url + PERSONS, params={"$format": "json"}, json={"ДатаРождения": "вчера"})
    assert bad_date.status_code == 400 and bad_date.json()["odata.error"]["code"] == "4"
    unknown = http.post(zup.odata_url + PERSONS, params={"$format": "json"}, json={"Несуществующее": 1})
    assert unknown.json()["odata.error"]["code"] == "10"
    not_json = http.post(zup.odata_url + PERSONS, params={"$format": "json"}, data=b"<xml/>")
    assert not_json.json()["odata.error"]["code"] == "2"


def test_delete_is_204_then_404(http: requests.Session, zup: RunningOneC) -> None:
    created = http.post(zup.odata_url + "Catalog_Должности", params={"$format": "json"},
                        json={"Description": "Временная"}).json()
    url = entity_url(zup, "Catalog_Должности", created["Ref_Key"])
    assert http.delete(url).status_code == 204
    assert http.get(url, params={"$format": "json"}).status_code == 404


def test_direct_tabular_row_post_is_code_13(http: requests.Session, zup: RunningOneC) -> None:
    response = http.post(zup.odata_url + "Catalog_ФизическиеЛица_КонтактнаяИнформация",
                         params={"$format": "json"}, json={"Тип": "Телефон"})
    assert response.status_code == 400
    assert response.json()["odata.error"]["code"] == "13"


def test_document_post_and_unpost(http: requests.Session, zup: RunningOneC) -> None:
    person = next(p for p in rows(http, zup, PERSONS) if not p["IsFolder"])
    created = http.post(zup.odata_url + "Document_ЗаявкаНаОтпуск", params={"$format": "json"}, json={
        "ФизическоеЛицо_Key": person["Ref_Key"], "ДатаНачала": "2026-12-01T00:00:00",
        "ДатаОкончания": "2026-12-14T00:00:00", "КоличествоДней": 14, "Статус": "Рассматривается"})
    assert created.status_code == 201
    document = created.json()
    assert document["Posted"] is False and document["Number"].strip()
    url = entity_url(zup, "Document_ЗаявкаНаОтпуск", document["Ref_Key"])
    assert http.post(url + "/Post", params={"PostingModeOperational": "false"}).status_code == 200
    posted = http.get(url, params={"$format": "json"}).json()
    assert posted["Posted"] is True and posted["DataVersion"] != document["DataVersion"]
    assert http.post(url + "/Unpost").status_code == 200
    assert http.get(url, params={"$format": "json"}).json()["Posted"] is False
    refused = http.patch(url, params={"$format": "json"}, json={"Posted": True})
    assert refused.status_code == 400
    listed = requests.get(f"{zup.url}/_emulator/documents").json()
    assert document["Ref_Key"] in {d["ref"] for d in listed}


def test_stale_if_match_gives_412(http: requests.Session, zup: RunningOneC) -> None:
    position = rows(http, zup, "Catalog_Должности", **{"$top": "1"})[0]
    url = entity_url(zup, "Catalog_Должности", position["Ref_Key"])
    assert http.patch(url, json={"НаименованиеКраткое": "А"}, params={"$format": "json"}).status_code == 200
    stale = http.patch(url, json={"НаименованиеКраткое": "Б"}, headers={"If-Match": position["DataVersion"]},
                       params={"$format": "json"})
    assert stale.status_code == 412
