"""lists.*, lists.field.*, lists.element.* over HTTP (REST docs: api-reference/lists/)."""
from __future__ import annotations

import base64

from tests.emulators.bitrix24.bp_fixtures import BpWorld, bp_world, unique  # noqa: F401 - fixture

PROCESSES = "bitrix_processes"


def test_lists_add_get_and_duplicate_code(bp_world: BpWorld) -> None:
    code = unique("vacation")
    iblock_id = bp_world.admin.result("lists.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_CODE=code,
                                      FIELDS={"NAME": "Отпуск", "BIZPROC": "Y"})
    assert isinstance(iblock_id, int)
    assert bp_world.admin.error("lists.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_CODE=code, FIELDS={"NAME": "x"}) == (
        400, "ERROR_IBLOCK_ALREADY_EXISTS", "Iblock already exists")
    listed = bp_world.admin.result("lists.get", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_CODE=code)
    assert listed == [listed[0]] and listed[0]["ID"] == str(iblock_id) and listed[0]["BIZPROC"] == "Y"


def test_lists_add_validation(bp_world: BpWorld) -> None:
    assert bp_world.admin.error("lists.add", IBLOCK_CODE="x", FIELDS={"NAME": "x"})[1:] == (
        "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `IBLOCK_TYPE_ID` is missing")
    assert bp_world.admin.error("lists.add", IBLOCK_TYPE_ID="lists_socnet", IBLOCK_CODE=unique("g"),
                                FIELDS={"NAME": "x"})[2] == "Required parameter `SOCNET_GROUP_ID` is missing"
    assert bp_world.admin.error("lists.get", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_ID=987654)[1:] == (
        "ERROR_IBLOCK_NOT_FOUND", "Iblock not found")


def test_lists_add_is_admin_only(bp_world: BpWorld) -> None:
    employee = bp_world.rest_as(bp_world.add_user("Пётр"))
    status, code, _ = employee.error("lists.add", IBLOCK_TYPE_ID=PROCESSES, IBLOCK_CODE=unique("x"),
                                     FIELDS={"NAME": "x"})
    assert code == "ACCESS_DENIED" and status in (401, 403)


def test_fields_get_property_ids_and_errors(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    common = {"IBLOCK_TYPE_ID": PROCESSES, "IBLOCK_ID": iblock_id}
    field_id = bp_world.admin.result("lists.field.add", **common, FIELDS={"NAME": "Дней", "TYPE": "N", "CODE": "DAYS"})
    assert field_id.startswith("PROPERTY_")
    assert bp_world.admin.error("lists.field.add", **common, FIELDS={"NAME": "x", "TYPE": "N", "CODE": "DAYS"})[1:] == (
        "ERROR_SAVE_FIELD", "Property already exists")
    assert bp_world.admin.error("lists.field.add", **common, FIELDS={"NAME": "x", "TYPE": "S"})[2] == (
        "Please fill the code fields")
    assert bp_world.admin.error("lists.field.add", **common, FIELDS={"NAME": "x", "TYPE": "Q", "CODE": "Q"})[2] == (
        "Wrong field type")
    fields = bp_world.admin.result("lists.field.get", **common)
    assert set(fields) == {"NAME", field_id} and fields[field_id]["CODE"] == "DAYS"
    assert "S:employee" in bp_world.admin.result("lists.field.types", **common)
    assert bp_world.admin.result("lists.field.delete", **common, FIELD_ID=field_id) is True
    assert bp_world.admin.error("lists.field.delete", **common, FIELD_ID=field_id)[1] == "ERROR_FIELD_NOT_FOUND"


def test_elements_add_get_update_replace_and_delete(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    common = {"IBLOCK_TYPE_ID": PROCESSES, "IBLOCK_ID": iblock_id}
    days = bp_world.admin.result("lists.field.add", **common, FIELDS={"NAME": "Дней", "TYPE": "N", "CODE": "DAYS"})
    note = bp_world.admin.result("lists.field.add", **common, FIELDS={"NAME": "Заметки", "TYPE": "S", "CODE": "NOTE",
                                                                       "MULTIPLE": "Y"})
    element_id = bp_world.admin.result("lists.element.add", **common, ELEMENT_CODE="e1",
                                       FIELDS={"NAME": "Заявка", days: "14", note: ["a", "b"]})
    assert bp_world.admin.error("lists.element.add", **common, ELEMENT_CODE="e1", FIELDS={"NAME": "x"})[1] == (
        "ERROR_ELEMENT_ALREADY_EXISTS")
    [row] = bp_world.admin.result("lists.element.get", **common, ELEMENT_ID=element_id, SELECT=["NAME", days, note])
    assert list(row[days].values()) == ["14"] and list(row[note].values()) == ["a", "b"]
    assert all(key.isdigit() for key in row[note])  # values keyed by value id [inferred]
    bp_world.admin.result("lists.element.update", **common, ELEMENT_ID=element_id, FIELDS={"NAME": "Новое"})
    [row] = bp_world.admin.result("lists.element.get", **common, ELEMENT_ID=element_id, SELECT=["NAME", days])
    # update replaces all FIELDS (REST docs: api-reference/lists/elements/lists-element-update.md)
    assert row["NAME"] == "Новое" and days not in row
    assert bp_world.admin.result("lists.element.get", **common) == [{"ID": str(element_id)}]  # SELECT: ['ID']
    assert bp_world.admin.result("lists.element.delete", **common, ELEMENT_ID=element_id) is True
    assert bp_world.admin.result("lists.element.get", **common) == []


def test_element_values_are_validated(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    common = {"IBLOCK_TYPE_ID": PROCESSES, "IBLOCK_ID": iblock_id}
    days = bp_world.admin.result("lists.field.add", **common,
                                 FIELDS={"NAME": "Дней", "TYPE": "N", "CODE": "DAYS", "IS_REQUIRED": "Y"})
    assert bp_world.admin.error("lists.element.add", **common, ELEMENT_CODE="a", FIELDS={"NAME": "x"})[1:] == (
        "ERROR_ELEMENT_FIELD_VALUE", 'Field "Дней" is required.')
    assert bp_world.admin.error("lists.element.add", **common, ELEMENT_CODE="a",
                                FIELDS={"NAME": "x", days: "много"})[2] == 'Incorrect value of field "Дней"'
    assert bp_world.admin.error("lists.element.add", **common, FIELDS={"NAME": "x", days: "1"})[2] == (
        "Required parameter `ELEMENT_CODE` is missing")
    assert bp_world.admin.result("lists.element.get", **common) == []  # nothing half-written


def test_element_filter_order_and_file_url(bp_world: BpWorld) -> None:
    iblock_id = bp_world.new_list()
    common = {"IBLOCK_TYPE_ID": PROCESSES, "IBLOCK_ID": iblock_id}
    days = bp_world.admin.result("lists.field.add", **common, FIELDS={"NAME": "Дней", "TYPE": "N", "CODE": "DAYS"})
    scan = bp_world.admin.result("lists.field.add", **common, FIELDS={"NAME": "Скан", "TYPE": "F", "CODE": "SCAN"})
    for index, value in enumerate(("3", "10", "7")):
        bp_world.admin.result("lists.element.add", **common, ELEMENT_CODE=f"e{index}",
                              FIELDS={"NAME": f"Заявка {index}", days: value})
    rows = bp_world.admin.result("lists.element.get", **common, FILTER={">=" + days: 5}, ELEMENT_ORDER={days: "desc"},
                                   SELECT=["NAME", days])
    assert [r["NAME"] for r in rows] == ["Заявка 1", "Заявка 2"]
    content = base64.b64encode(b"%PDF-1.4").decode()
    element_id = bp_world.admin.result("lists.element.add", **common, ELEMENT_CODE="f",
                                       FIELDS={"NAME": "С файлом", scan: ["scan.pdf", content]})
    urls = bp_world.admin.result("lists.element.get.file.url", **common, ELEMENT_ID=element_id, FIELD_ID=scan)
    assert len(urls) == 1 and f"/{element_id}/{scan}/" in urls[0]


def test_element_filter_prefixes_like_and_start(bp_world: BpWorld) -> None:
    """The shared list semantics (REST docs: settings/how-to-call-rest-api/list-methods-pecularities.md) as
    lists.element.get applies them."""
    iblock_id = bp_world.new_list()
    common = {"IBLOCK_TYPE_ID": PROCESSES, "IBLOCK_ID": iblock_id}
    for index, name in enumerate(("Заявка [A]", "Заявка 10", "Отчёт 3")):
        bp_world.admin.result("lists.element.add", **common, ELEMENT_CODE=f"e{index}", FIELDS={"NAME": name})

    def names(**params: object) -> list[str]:
        return [row["NAME"] for row in bp_world.admin.result("lists.element.get", **common, SELECT=["NAME"], **params)]

    assert names(FILTER={"=%NAME": "заявка 1%"}) == ["Заявка 10"]  # LIKE, case-insensitive
    assert names(FILTER={"=%NAME": "%[a]"}) == ["Заявка [A]"]  # brackets are plain characters
    assert names(FILTER={"=%NAME": "______ 10"}) == ["Заявка 10"]  # _ is one character
    assert names(FILTER={"!=%NAME": "заявка%"}) == ["Отчёт 3"]
    assert names(FILTER={">=NAME": "ЗАЯВКА [A]"}) == ["Заявка [A]", "Отчёт 3"]  # strings compare without case
    assert names(FILTER={"%NAME": "явка"}, ELEMENT_ORDER={"NAME": "DESC"}) == ["Заявка [A]", "Заявка 10"]
    response = bp_world.admin.call("lists.element.get", **common, SELECT=["NAME"], start="2abc").json()
    assert [row["NAME"] for row in response["result"]] == ["Отчёт 3"]  # intval("2abc") = 2
    assert response["total"] == 3 and "next" not in response
    assert names(start="1e1") == []  # intval("1e1") = 10
