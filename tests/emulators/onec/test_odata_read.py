"""Reading the standard interface: representations, value quirks (sources in
emulators/onec/__init__.py)."""
from __future__ import annotations

import base64

import requests
from lxml import etree

from emulators.onec import RunningOneC

from .conftest import rows

APP = "{http://www.w3.org/2007/app}"
EDM = "{http://schemas.microsoft.com/ado/2009/11/edm}"
ATOM = "{http://www.w3.org/2005/Atom}"
M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
EMPTY = "00000000-0000-0000-0000-000000000000"


def test_service_document_is_atompub_listing_sets(http: requests.Session, zup: RunningOneC) -> None:
    response = http.get(zup.odata_url)
    assert response.status_code == 200
    hrefs = {c.get("href") for c in etree.fromstring(response.content).iter(f"{APP}collection")}
    assert {"Catalog_Сотрудники", "Catalog_ФизическиеЛица_КонтактнаяИнформация",
            "InformationRegister_ТекущиеКадровыеДанныеСотрудников"} <= hrefs


def test_metadata_is_edmx_v3_standard_odata(http: requests.Session, zup: RunningOneC) -> None:
    root = etree.fromstring(http.get(zup.odata_url + "$metadata").content)
    schema = root.find(f".//{EDM}Schema")
    assert schema.get("Namespace") == "StandardODATA"
    assert root.find(".//{*}DataServices").get(f"{M}DataServiceVersion") == "3.0"
    container = schema.find(f"{EDM}EntityContainer")
    assert container.get("Name") == "StandardODATA"
    sets = {s.get("Name") for s in container.iter(f"{EDM}EntitySet")}
    assert "AccumulationRegister_ФактическиеОтпуска_RecordType" in sets
    employee = schema.find(f"{EDM}EntityType[@Name='Catalog_Сотрудники']")
    props = {p.get("Name"): p.get("Type") for p in employee.iter(f"{EDM}Property")}
    assert props["Ref_Key"] == "Edm.Guid" and props["ФизическоеЛицо_Key"] == "Edm.Guid"


def test_atom_is_the_default_representation(http: requests.Session, zup: RunningOneC) -> None:
    response = http.get(zup.odata_url + "Catalog_Должности", params={"$top": "2"})
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    entries = etree.fromstring(response.content).findall(f"{ATOM}entry")
    assert len(entries) == 2
    assert entries[0].find(f".//{M}properties") is not None


def test_json_by_format_and_by_accept(http: requests.Session, zup: RunningOneC) -> None:
    by_format = http.get(zup.odata_url + "Catalog_Должности", params={"$format": "json"}).json()
    assert by_format["odata.metadata"].endswith("$metadata#Catalog_Должности")
    by_accept = http.get(zup.odata_url + "Catalog_Должности", headers={"Accept": "application/json"}).json()
    assert len(by_accept["value"]) == len(by_format["value"]) > 0
    bare = http.get(zup.odata_url + "Catalog_Должности",
                    headers={"Accept": "application/json;odata=nometadata"}).json()
    assert set(bare) == {"value"}
    assert not any("@" in key for key in bare["value"][0])


def test_single_entity_element_and_missing_key(http: requests.Session, zup: RunningOneC) -> None:
    first = rows(http, zup, "Catalog_Сотрудники", **{"$top": "1", "$orderby": "Code"})[0]
    url = f"{zup.odata_url}Catalog_Сотрудники(guid'{first['Ref_Key']}')"
    item = http.get(url, params={"$format": "json"}).json()
    assert item["odata.metadata"].endswith("#Catalog_Сотрудники/@Element")
    assert item["Code"] == first["Code"]
    missing = http.get(f"{zup.odata_url}Catalog_Сотрудники(guid'{EMPTY}')", params={"$format": "json"})
    assert missing.status_code == 404
    assert missing.json()["odata.error"]["code"] == "9"


def test_empty_guid_and_empty_date_sentinels(http: requests.Session, zup: RunningOneC) -> None:
    employees = rows(http, zup, "Catalog_Сотрудники")
    assert any(e["ГоловнойСотрудник_Key"] == EMPTY for e in employees)
    states = rows(http, zup, "InformationRegister_ТекущиеКадровыеДанныеСотрудников")
    assert any(s["ДатаУвольнения"] == "0001-01-01T00:00:00" for s in states)
    assert any(s["ДатаУвольнения"] != "0001-01-01T00:00:00" for s in states)


def test_fixed_length_strings_are_right_padded(http: requests.Session, zup: RunningOneC) -> None:
    org = rows(http, zup, "Catalog_Организации")[0]
    assert len(org["ИНН"]) == 12 and org["ИНН"].endswith("  ") and org["ИНН"].strip().isdigit()


def test_line_number_is_a_string_and_enums_are_names(http: requests.Session, zup: RunningOneC) -> None:
    persons = [p for p in rows(http, zup, "Catalog_ФизическиеЛица") if not p["IsFolder"]]
    lines = [line for p in persons for line in p["КонтактнаяИнформация"]]
    assert lines and all(isinstance(line["LineNumber"], str) for line in lines)
    assert {line["Тип"] for line in lines} <= {"Телефон", "АдресЭлектроннойПочты", "Адрес"}
    assert {p["Пол"] for p in persons} == {"Мужской", "Женский"}


def test_navigation_links_only_for_filled_references(http: requests.Session, zup: RunningOneC) -> None:
    for employee in rows(http, zup, "Catalog_Сотрудники"):
        assert employee["ФизическоеЛицо@navigationLinkUrl"] == (
            f"Catalog_Сотрудники(guid'{employee['Ref_Key']}')/ФизическоеЛицо")
        assert ("ГоловнойСотрудник@navigationLinkUrl" in employee) == (employee["ГоловнойСотрудник_Key"] != EMPTY)


def test_navigation_property_returns_the_referenced_object(http: requests.Session, zup: RunningOneC) -> None:
    employee = rows(http, zup, "Catalog_Сотрудники", **{"$top": "1"})[0]
    person = http.get(zup.odata_url + employee["ФизическоеЛицо@navigationLinkUrl"], params={"$format": "json"})
    assert person.json()["Ref_Key"] == employee["ФизическоеЛицо_Key"]


def test_code_only_on_catalogs_with_code_length(http: requests.Session, zup: RunningOneC) -> None:
    for name in ("Catalog_Организации", "Catalog_Должности", "Catalog_ВидыОтпусков",
                 "Catalog_ВидыКонтактнойИнформации"):
        assert "Code" not in rows(http, zup, name, **{"$top": "1"})[0], name
    assert "Code" in rows(http, zup, "Catalog_Сотрудники", **{"$top": "1"})[0]


def test_properties_are_not_in_declaration_order(http: requests.Session, zup: RunningOneC) -> None:
    keys = list(rows(http, zup, "Catalog_Сотрудники", **{"$top": "1"})[0])
    assert keys[:3] != ["Ref_Key", "DataVersion", "DeletionMark"]


def test_data_version_is_base64_of_eight_bytes(http: requests.Session, zup: RunningOneC) -> None:
    versions = {e["DataVersion"] for e in rows(http, zup, "Catalog_Сотрудники")}
    assert all(len(base64.b64decode(v)) == 8 for v in versions)
    assert len(versions) > 1


def test_person_folders_have_is_folder_and_parent(http: requests.Session, zup: RunningOneC) -> None:
    persons = rows(http, zup, "Catalog_ФизическиеЛица")
    folders = {p["Ref_Key"] for p in persons if p["IsFolder"]}
    assert folders
    assert any(p["Parent_Key"] in folders for p in persons if not p["IsFolder"])
    assert all(p["DeletionMark"] is False for p in persons)


def test_contact_kinds_have_predefined_names(http: requests.Session, zup: RunningOneC) -> None:
    names = {k["PredefinedDataName"] for k in rows(http, zup, "Catalog_ВидыКонтактнойИнформации")}
    assert {"EMailФизическиеЛица", "ТелефонМобильныйФизическиеЛица"} <= names


def test_tabular_part_as_its_own_set(http: requests.Session, zup: RunningOneC) -> None:
    person = next(p for p in rows(http, zup, "Catalog_ФизическиеЛица") if p["КонтактнаяИнформация"])
    lines = rows(http, zup, "Catalog_ФизическиеЛица_КонтактнаяИнформация",
                 **{"$filter": f"Ref_Key eq guid'{person['Ref_Key']}'", "$orderby": "LineNumber"})
    assert lines == person["КонтактнаяИнформация"]


def test_unknown_format_and_bad_filter_errors(http: requests.Session, zup: RunningOneC) -> None:
    bad = http.get(zup.odata_url + "Catalog_Сотрудники", params={"$format": "json", "$filter": "Code eq"})
    assert bad.status_code == 400 and bad.json()["odata.error"]["code"] == "14"
    assert bad.json()["odata.error"]["message"]["lang"] == "ru"
    xml = http.get(zup.odata_url + "Catalog_Сотрудники", params={"$filter": "Нет eq 1"})
    error = etree.fromstring(xml.content)
    assert error.tag == f"{M}error" and error.find(f"{M}code").text == "14"


def test_unpublished_set_gives_code_8(http: requests.Session, zup: RunningOneC) -> None:
    hook = requests.post(f"{zup.url}/_emulator/unpublish", json={"sets": ["Catalog_Должности"]})
    assert hook.status_code == 200
    response = http.get(zup.odata_url + "Catalog_Должности", params={"$format": "json"})
    assert response.status_code == 404
    error = response.json()["odata.error"]
    assert error["code"] == "8" and "Тип сущности не найден" in error["message"]["value"]
    assert "Catalog_Должности" not in http.get(zup.odata_url).text
    assert 'EntitySet Name="Catalog_Должности"' not in http.get(zup.odata_url + "$metadata").text


def test_basic_auth_is_required_and_utf8(zup: RunningOneC) -> None:
    anonymous = requests.get(zup.odata_url)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Basic")
    wrong = requests.get(zup.odata_url, auth=(zup.login.encode(), "нет".encode()))
    assert wrong.status_code == 401
    latin1 = requests.get(zup.odata_url, auth=(zup.login.encode("utf-8"), zup.password.encode("utf-8")))
    assert latin1.status_code == 200


def test_slice_last_gives_latest_history_row_per_employee(http: requests.Session, zup: RunningOneC) -> None:
    history = rows(http, zup, "InformationRegister_КадроваяИсторияСотрудников_RecordType")
    latest: dict[str, str] = {}
    for row in history:
        latest[row["Сотрудник_Key"]] = max(latest.get(row["Сотрудник_Key"], ""), row["Period"])
    sliced = rows(http, zup, "InformationRegister_КадроваяИсторияСотрудников_RecordType/SliceLast()")
    assert {r["Сотрудник_Key"]: r["Period"] for r in sliced} == latest
    early = rows(http, zup, "InformationRegister_КадроваяИсторияСотрудников_RecordType/"
                            "SliceLast(Period=datetime'2015-01-01T00:00:00')")
    assert early and all(r["Period"] <= "2015-01-01T00:00:00" for r in early)
    assert len(early) < len(sliced)


def test_slice_on_non_periodic_register_is_code_6(http: requests.Session, zup: RunningOneC) -> None:
    response = http.get(zup.odata_url + "InformationRegister_ТекущиеКадровыеДанныеСотрудников/SliceLast()",
                        params={"$format": "json"})
    assert response.status_code == 404 and response.json()["odata.error"]["code"] == "6"
