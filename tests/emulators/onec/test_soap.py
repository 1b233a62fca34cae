"""B24Sync over SOAP with zeep against the served WSDL (docs/architecture.md «SOAP contract»,
docs/onec-extension.md, section 2)."""
from __future__ import annotations

import base64
import calendar
import datetime as dt
import json
from typing import Iterator

import pytest
import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

from emulators.onec import RunningOneC

from .conftest import rows

NS = "http://b24app.org/zup/b24sync"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"


@pytest.fixture
def soap(zup: RunningOneC, http: requests.Session) -> Iterator[object]:
    client = Client(zup.wsdl_url, transport=Transport(session=http, timeout=30),
                    settings=Settings(strict=False))
    yield client.create_service(f"{{{NS}}}B24SyncSoapBinding", zup.soap_url)


def test_wsdl_has_the_1c_shape(http: requests.Session, zup: RunningOneC) -> None:
    root = etree.fromstring(http.get(zup.wsdl_url).content)
    assert root.get("name") == "B24Sync" and root.get("targetNamespace") == NS
    assert root.find(".//{http://www.w3.org/2001/XMLSchema}schema").get("elementFormDefault") == "qualified"
    assert {m.get("name") for m in root.iter(f"{WSDL}message")} >= {"GetChangesRequestMessage",
                                                                     "GetChangesResponseMessage"}
    assert {b.get("name") for b in root.iter(f"{WSDL}binding")} == {"B24SyncSoapBinding", "B24SyncSoap12Binding"}
    actions = {o.get("soapAction") for o in root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}operation")}
    assert f"{NS}#B24Sync:GetChanges" in actions
    assert {p.get("name") for p in root.iter(f"{WSDL}port")} == {"B24SyncSoap", "B24SyncSoap12"}


def test_wsdl_needs_auth(zup: RunningOneC) -> None:
    assert requests.get(zup.wsdl_url).status_code == 401


def test_get_changes_pages_through_every_employee(soap: object, http: requests.Session, zup: RunningOneC) -> None:
    version, seen, more = 0, {}, True
    while more:
        package = json.loads(soap.GetChanges(FromVersion=version, Limit=250))
        assert package["version"] >= version
        version, more = package["version"], package["more"]
        for item in package["items"]:
            seen[(item["type"], item["ref"])] = item
    employees = {e["Ref_Key"] for e in rows(http, zup, "Catalog_Сотрудники")}
    assert {ref for kind, ref in seen if kind == "employee"} == employees
    assert {ref for kind, ref in seen if kind == "hr_state"} == employees
    sample = next(item for item in seen.values() if item["type"] == "person")
    assert sample["data"]["Ref_Key"] == sample["ref"] and "Фамилия" in sample["data"]
    empty = json.loads(soap.GetChanges(FromVersion=version, Limit=10))
    assert empty == {"version": version, "more": False, "items": []}


def test_a_write_shows_up_as_one_latest_item(soap: object, http: requests.Session, zup: RunningOneC) -> None:
    start = json.loads(requests.get(f"{zup.url}/_emulator/counters").text)["change_version"]
    position = rows(http, zup, "Catalog_Должности", **{"$top": "1"})[0]
    url = f"{zup.odata_url}Catalog_Должности(guid'{position['Ref_Key']}')"
    for name in ("Первое", "Второе"):
        assert http.patch(url, json={"НаименованиеКраткое": name}, params={"$format": "json"}).ok
    package = json.loads(soap.GetChanges(FromVersion=start, Limit=100))
    assert [(i["type"], i["ref"], i["data"]["НаименованиеКраткое"]) for i in package["items"]] == [
        ("position", position["Ref_Key"], "Второе")]
    assert soap.Acknowledge(Version=package["version"]) is True
    counters = requests.get(f"{zup.url}/_emulator/counters").json()
    assert counters["acknowledged_version"] == package["version"]
    assert soap.Acknowledge(Version=package["version"] + 10_000) is False


def test_vacation_balance_is_earned_per_month_worked(soap: object, http: requests.Session,
                                                     zup: RunningOneC) -> None:
    """Two whole working years after the first recorded one began: 2 x 28 days earned, minus the
    vacations taken (ZUP earns rights for any date, not only for the years the data holds)."""
    working = {r["Сотрудник_Key"] for r in rows(http, zup, "InformationRegister_ТекущиеКадровыеДанныеСотрудников")
               if r["ДатаУвольнения"].startswith("0001")}
    used = rows(http, zup, "AccumulationRegister_ФактическиеОтпуска_RecordType")
    employee = next(u["Сотрудник_Key"] for u in used if u["Сотрудник_Key"] in working)
    rights = rows(http, zup, "InformationRegister_ЗаработанныеПраваНаОтпуска",
                  **{"$filter": f"Сотрудник_Key eq guid'{employee}'"})
    first = dt.date.fromisoformat(min(r["ДатаНачала"] for r in rights)[:10])
    year = first.year + 2  # ДобавитьМесяц(first, 24): 29 February becomes 28 February
    two_years = dt.date(year, first.month, min(first.day, calendar.monthrange(year, first.month)[1])) \
        - dt.timedelta(days=1)
    expected = 56 - sum(u["Количество"] for u in used if u["Сотрудник_Key"] == employee)
    balance = json.loads(soap.GetVacationBalance(Employee=employee, Date=two_years.isoformat()))
    assert balance["employee"] == employee and balance["date"] == two_years.isoformat()
    assert balance["days"] == pytest.approx(expected, abs=0.01)
    assert balance["by_kind"][0]["kind"] == "Основной отпуск"


def test_unknown_employee_is_a_russian_fault(soap: object) -> None:
    with pytest.raises(Fault) as fault:
        soap.GetVacationBalance(Employee="00000000-0000-0000-0000-000000000001", Date="2026-01-01")
    assert "Сотрудник не найден" in fault.value.message


def hr_state(http: requests.Session, zup: RunningOneC) -> dict[str, str]:
    return next(r for r in rows(http, zup, "InformationRegister_ТекущиеКадровыеДанныеСотрудников")
                if r["ДатаУвольнения"].startswith("0001"))


def test_write_document_is_unposted_keyed_and_decided_by_hr(soap: object, http: requests.Session,
                                                            zup: RunningOneC) -> None:
    state = hr_state(http, zup)
    fields = {"Организация_Key": state["ТекущаяОрганизация_Key"], "Сотрудник_Key": state["Сотрудник_Key"],
              "ДатаУвольнения": "2027-01-15", "Комментарий": "Заявка Битрикс24: https://b24/1"}
    created = json.loads(soap.WriteDocument(Object="Document_Увольнение", Fields=json.dumps(fields),
                                            Key="Заявка Битрикс24: https://b24/1"))
    again = json.loads(soap.WriteDocument(Object="Document_Увольнение", Fields=json.dumps(fields),
                                          Key="Заявка Битрикс24: https://b24/1"))
    assert created["created"] and not again["created"] and again["ref"] == created["ref"]
    odata = http.get(f"{zup.odata_url}Document_Увольнение(guid'{created['ref']}')", params={"$format": "json"}).json()
    assert odata["Posted"] is False and odata["Сотрудник_Key"] == state["Сотрудник_Key"]
    assert json.loads(soap.GetRequestStatus(Ref=created["ref"]))["status"] == "Рассматривается"
    hook = requests.post(f"{zup.url}/_emulator/documents/{created['ref']}/reject", json={"comment": "Дата занята"})
    assert hook.json()["status"] == "Отклонено"
    status = json.loads(soap.GetRequestStatus(Ref=created["ref"]))
    assert status["status"] == "Отклонено" and status["comment"].endswith("Дата занята")


def test_posting_checks_required_attributes_like_1c(soap: object, http: requests.Session,
                                                    zup: RunningOneC) -> None:
    created = json.loads(soap.WriteDocument(Object="Document_Увольнение", Fields=json.dumps(
        {"Комментарий": "Заявка Битрикс24: https://b24/2"}), Key="https://b24/2"))
    refused = requests.post(f"{zup.url}/_emulator/documents/{created['ref']}/post", json={})
    assert refused.status_code == 400 and "Поле «Организация» не заполнено" in refused.json()["error"]
    over_odata = http.post(f"{zup.odata_url}Document_Увольнение(guid'{created['ref']}')/Post()",
                           params={"$format": "json"})
    assert over_odata.status_code == 500
    assert "Поле «Сотрудник» не заполнено" in over_odata.json()["odata.error"]["message"]["value"]


def test_certificate_file_once_hr_posted_it(soap: object, http: requests.Session, zup: RunningOneC) -> None:
    state = hr_state(http, zup)
    created = json.loads(soap.WriteDocument(Object="Document_СправкаНДФЛ", Fields=json.dumps({
        "Организация_Key": state["ТекущаяОрганизация_Key"], "ФизическоеЛицо_Key": state["ФизическоеЛицо_Key"],
        "НалоговыйПериод": 2026, "Комментарий": "Заявка Битрикс24: https://b24/3"}), Key="https://b24/3"))
    with pytest.raises(Fault) as early:
        soap.GetDocument(Ref=created["ref"])
    assert "еще не подготовлена" in early.value.message
    assert requests.post(f"{zup.url}/_emulator/documents/{created['ref']}/post", json={}).ok
    assert json.loads(soap.GetRequestStatus(Ref=created["ref"]))["status"] == "Согласовано"
    document = json.loads(soap.GetDocument(Ref=created["ref"]))
    assert document["mime"] == "application/pdf" and document["name"].endswith(".pdf")
    assert base64.b64decode(document["content_base64"]).startswith(b"%PDF-")


def test_unknown_object_field_or_type_are_faults(soap: object) -> None:
    with pytest.raises(Fault) as unknown_object:
        soap.WriteDocument(Object="Document_Пицца", Fields="{}", Key="k")
    assert "не поддерживается" in unknown_object.value.message
    with pytest.raises(Fault) as unknown_field:
        soap.WriteDocument(Object="Document_Увольнение", Fields=json.dumps({"Пицца": 1, "Комментарий": "k"}), Key="k")
    assert "Свойство не найдено" in unknown_field.value.message
    with pytest.raises(Fault) as wrong_type:
        soap.WriteDocument(Object="Document_Увольнение", Fields=json.dumps({"ДатаУвольнения": 5, "Комментарий": "k"}),
                           Key="k")
    assert "ожидается Дата" in wrong_type.value.message


def test_soap12_binding(zup: RunningOneC, http: requests.Session) -> None:
    client = Client(zup.wsdl_url, transport=Transport(session=http, timeout=30))
    service = client.create_service(f"{{{NS}}}B24SyncSoap12Binding", zup.soap_url)
    package = json.loads(service.GetChanges(FromVersion=0, Limit=3))
    assert len(package["items"]) == 3 and package["more"] is True
    with pytest.raises(Fault) as fault:
        service.GetChanges(FromVersion=0, Limit=0)
    assert "Limit" in fault.value.message


def test_soap_reply_is_text_xml(http: requests.Session, zup: RunningOneC) -> None:
    envelope = (f'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
                f'<m:Acknowledge xmlns:m="{NS}"><m:Version>0</m:Version></m:Acknowledge></s:Body></s:Envelope>')
    response = http.post(zup.soap_url, data=envelope.encode(), headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{NS}#B24Sync:Acknowledge"'})
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert b">true</m:return>" in response.content
