"""The OData standard interface (`/<publication>/odata/standard.odata/…`) over the store."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Iterable

from . import render
from .query import (QueryError, compile_node, equality_terms, parse_filter, parse_literal, parse_orderby,
                    shuffled_physical, sort_rows, tokenize)
from .schema import HR_HISTORY, SETS, TABULAR_SETS, EntitySet, tabular_set
from .store import Store, StoreError

Row = tuple
DEFAULT_STATUS = {"2": 400, "3": 406, "4": 400, "5": 400, "6": 404, "7": 400, "8": 404, "9": 404, "10": 400,
                  "11": 404, "12": 400, "13": 400, "14": 400, "15": 409, "16": 400, "19": 405, "20": 403,
                  "21": 400, "-1": 500, "0": 501}
JSON_TYPES = ("json", "application/json", "application/json;odata=nometadata",
              "application/json;odata=minimalmetadata", "application/json;odata=fullmetadata",
              "application/json;odata=verbose")
ATOM_TYPES = ("atom", "xml", "application/atom+xml", "application/xml")
SLICE_FUNCTIONS = {HR_HISTORY}


class ODataError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class Request:
    method: str
    resource: str  # path below the service root, already UTF-8 decoded
    query: dict[str, str]
    accept: str
    body: bytes
    if_match: str = ""


class ODataService:
    """One request at a time against the shared store (the caller holds the lock)."""

    def __init__(self, store: Store, published: set[str], root: str, seed: int, request_no: int,
                 statuses: dict[str, int]) -> None:
        self.store, self.published, self.root = store, published, root
        self.rng = random.Random(seed * 1_000_003 + request_no)
        self.statuses = statuses

    def handle(self, request: Request) -> Reply:
        as_json = "application/json" in request.accept.lower() or "json" in request.query.get("$format", "")
        try:
            as_json = wants_json(request)
            return self.dispatch(request, as_json)
        except (ODataError, QueryError, StoreError) as error:
            status = getattr(error, "status", None) or self.statuses.get(error.code, 400)
            if as_json:
                return Reply(status, render.json_error(error.code, error.message))
            return Reply(status, render.xml_error(error.code, error.message), "application/xml;charset=utf-8")

    def dispatch(self, request: Request, as_json: bool) -> Reply:
        resource = request.resource.strip("/")
        if not resource:
            return Reply(200, render.service_document(self.root, sorted(self.published)),
                         "application/xml;charset=utf-8")
        if resource == "$metadata":
            definitions = [SETS.get(name) or tabular_set(name) for name in sorted(self.published)]
            return Reply(200, render.metadata(definitions), "application/xml;charset=utf-8")
        set_name, key_text, rest = split_resource(resource)
        definition = self.definition(set_name)
        if key_text is None:
            return self.on_collection(request, definition, rest, as_json)
        key = parse_key(key_text, definition)
        return self.on_entity(request, definition, key, rest, as_json)

    def definition(self, set_name: str) -> EntitySet:
        if set_name not in self.published:
            # An unpublished object is absent from the interface (1C DG «Publishing the standard
            # OData interface») [not in the docs: asking for it gives code 8 with HTTP 404]
            raise ODataError("8", f"Тип сущности не найден: {set_name}")
        return SETS.get(set_name) or tabular_set(set_name)

    # collections -------------------------------------------------------------------------------------

    def on_collection(self, request: Request, definition: EntitySet, rest: str, as_json: bool) -> Reply:
        if request.method == "POST" and not rest:
            return self.create(request, definition, as_json)
        if request.method != "GET":
            raise ODataError("19", f"Метод HTTP {request.method} запрещен для {definition.name}")
        if rest == "$count":
            rows = self.select_rows(definition, request.query, "")
            return Reply(200, str(len(rows)).encode(), "text/plain;charset=utf-8")
        if rest:
            return self.virtual_table(request, definition, rest, as_json)
        return self.collection(request, definition, self.select_rows(definition, request.query, ""), as_json)

    def collection(self, request: Request, definition: EntitySet, rows: list[Row], as_json: bool) -> Reply:
        query = request.query
        inline = query.get("$inlinecount", "none")
        if inline not in ("allpages", "none"):
            raise ODataError("14", f"Неверное значение $inlinecount: {inline}")
        count = len(rows) if inline == "allpages" else None
        skip, top = _integer(query, "$skip"), _integer(query, "$top")
        rows = rows[skip or 0:]
        rows = rows[:top] if top is not None else rows
        select = parse_select(query.get("$select"), definition)
        if as_json:
            nometadata = "nometadata" in (query.get("$format", "") + request.accept)
            return Reply(200, render.json_collection(definition, rows, self.root, select, nometadata, count))
        return Reply(200, render.atom_feed(definition, rows, self.root, select, count),
                     "application/atom+xml;type=feed;charset=utf-8")

    def select_rows(self, definition: EntitySet, query: dict[str, str], condition: str) -> list[Row]:
        """Filtered and ordered rows; without $orderby the order is unstable between requests
        (query.shuffled_physical)."""
        if query.get("allowedOnly", "true") not in ("true", "false"):
            raise ODataError("14", "Неверное значение параметра allowedOnly")
        node = parse_filter(query["$filter"], definition) if query.get("$filter") else None
        extra = parse_filter(condition, definition) if condition else None
        order = parse_orderby(query["$orderby"], definition) if query.get("$orderby") else None
        if node is None and extra is None and order and definition.kind != "tabular":
            return self.store.table(definition.name).sorted_rows(query["$orderby"],
                                                                  lambda rows: sort_rows(rows, order))
        rows = self.candidates(definition, node)
        for part in (node, extra):
            if part is not None:
                predicate = compile_node(part)
                rows = [row for row in rows if predicate(row)]
        if order:
            return sort_rows(list(rows), order)
        return shuffled_physical(rows, self.rng)

    def candidates(self, definition: EntitySet, node: Any) -> Iterable[Row]:
        if definition.kind == "tabular":
            owner, part = TABULAR_SETS[definition.name]
            owner_def = SETS[owner]
            ref_at, part_at = owner_def.index("Ref_Key"), owner_def.index(part)
            return [(row[ref_at],) + line for row in self.store.table(owner).rows.values() for line in row[part_at]]
        table = self.store.table(definition.name)
        terms = equality_terms(node) if node is not None else None
        if terms is None:
            return list(table.rows.values())
        index = table.index(terms[0])
        return [table.rows[key] for value in terms[1] for key in index.get(value, ())]

    def virtual_table(self, request: Request, definition: EntitySet, rest: str, as_json: bool) -> Reply:
        name, _, arguments = rest.partition("(")
        if name != "SliceLast" or definition.name not in SLICE_FUNCTIONS:
            # Slices exist only on periodic registers (1C DG, virtual tables of registers)
            # [not in the docs: the code 6 and its wording, as reported from real servers]
            raise ODataError("6", "Обнаружены лишние сегменты в запросе к контейнеру сущностей!")
        params = dict(request.query)
        params.update(parse_arguments(arguments.rstrip(")")))
        period = params.get("Period")
        rows = self.select_rows(definition, {"$orderby": "Period"}, params.get("Condition", ""))
        latest: dict[tuple, Row] = {}
        period_at = definition.index("Period")
        dims = [definition.index(n) for n in ("Сотрудник_Key", "ГоловнаяОрганизация_Key", "ФизическоеЛицо_Key")]
        for row in rows:
            if period is None or row[period_at] <= period:
                latest[tuple(row[i] for i in dims)] = row
        kept = set(latest.values())
        sliced = [row for row in self.select_rows(definition, request.query, "") if row in kept]
        return self.collection(request, definition, sliced, as_json)

    def create(self, request: Request, definition: EntitySet, as_json: bool) -> Reply:
        if definition.kind == "tabular":
            raise ODataError("13", "Создание строк табличных частей напрямую не поддерживается")
        if definition.kind == "recordtype":
            raise ODataError("19", f"Метод HTTP POST запрещен для {definition.name}")
        values = json_body(request.body)
        if "Posted" in values:
            raise ODataError("16", "Нельзя установить значение свойства Posted: используйте метод Post()")
        if definition.kind == "document":
            values.setdefault("Number", self.store.next_number(definition.name, "00-"))
            values.setdefault("Date", self.store.now())
        row = self.store.insert(definition.name, values)
        if definition.kind == "document":
            self.store.client_documents.append((definition.name, row[0]))
        return self.entity_reply(definition, row, request, as_json, 201)

    # single entities ---------------------------------------------------------------------------------

    def on_entity(self, request: Request, definition: EntitySet, key: Any, rest: str, as_json: bool) -> Reply:
        if definition.kind == "tabular":
            row = self.tabular_row(definition, key)
            if request.method != "GET" or rest:
                raise ODataError("19", "Строки табличных частей изменяются только вместе с объектом")
            return self.entity_reply(definition, row, request, as_json, 200)
        row = self.store.get(definition.name, key)
        if row is None:
            raise ODataError("9", "Экземпляр сущности не найден")
        if rest in ("Post", "Post()", "Unpost", "Unpost()"):
            return self.post(request, definition, key, rest.startswith("Post"))
        if rest:
            return self.navigate(request, definition, row, rest, as_json)
        if request.method == "GET":
            return self.entity_reply(definition, row, request, as_json, 200)
        if request.method in ("PATCH", "PUT", "MERGE"):
            return self.update(request, definition, key, row, as_json)
        if request.method == "DELETE":
            self.store.delete(definition.name, key)
            return Reply(204)
        raise ODataError("19", f"Метод HTTP {request.method} запрещен")

    def update(self, request: Request, definition: EntitySet, key: Any, row: Row, as_json: bool) -> Reply:
        if request.if_match and definition.is_object and request.if_match.strip('"W/') != row[1]:
            return Reply(412, render.json_error("-1", "Объект изменен другим пользователем"))
        values = json_body(request.body)
        if "Posted" in values:
            raise ODataError("16", "Нельзя установить значение свойства Posted: используйте метод Post()")
        values.pop("DataVersion", None)
        updated = self.store.update(definition.name, key, values)
        return self.entity_reply(definition, updated, request, as_json, 200)

    def post(self, request: Request, definition: EntitySet, key: Any, posting: bool) -> Reply:
        if request.method != "POST":
            raise ODataError("19", f"Метод HTTP {request.method} запрещен")
        if definition.kind != "document":
            raise ODataError("11", "Метод не найден")
        if posting:
            self.store.post_document(definition.name, key)
        else:
            self.store.update(definition.name, key, {"Posted": False}, trusted=True)
        return Reply(200, b"")

    def navigate(self, request: Request, definition: EntitySet, row: Row, nav: str, as_json: bool) -> Reply:
        prop = definition.by_name.get(f"{nav}_Key")
        if prop is None or not prop.ref or prop.ref not in self.published:
            raise ODataError("10", f"Свойство не найдено: {nav}")
        target = self.store.get(prop.ref, row[definition.index(prop.name)])
        if target is None:
            raise ODataError("9", "Экземпляр сущности не найден")
        return self.entity_reply(SETS[prop.ref], target, request, as_json, 200)

    def tabular_row(self, definition: EntitySet, key: Any) -> Row:
        owner, part = TABULAR_SETS[definition.name]
        owner_row = self.store.get(owner, key[0])
        lines = owner_row[SETS[owner].index(part)] if owner_row else ()
        for line in lines:
            if line[0] == str(key[1]):
                return (key[0],) + line
        raise ODataError("9", "Экземпляр сущности не найден")

    def entity_reply(self, definition: EntitySet, row: Row, request: Request, as_json: bool, status: int) -> Reply:
        select = parse_select(request.query.get("$select"), definition)
        if as_json:
            nometadata = "nometadata" in (request.query.get("$format", "") + request.accept)
            return Reply(status, render.json_entity(definition, row, self.root, select, nometadata))
        return Reply(status, render.atom_single(definition, row, self.root, select),
                     "application/atom+xml;type=entry;charset=utf-8")


def wants_json(request: Request) -> bool:
    """Atom by default; JSON on `$format=json` or a JSON media type (1C DG «Query parameters»,
    «JSON format») or `Accept: application/json` (what kr-aleksey/PyOData1C
    src/PyOData1C/http.py sends)."""
    requested = request.query.get("$format", "").replace(" ", "").lower()
    if requested:
        if requested not in JSON_TYPES + ATOM_TYPES:
            raise ODataError("3", f"Запрошенное представление не поддерживается: {requested}")
        return requested in JSON_TYPES
    return "application/json" in request.accept.lower()


def split_resource(resource: str) -> tuple[str, str | None, str]:
    """`Set(key)/rest` -> (set, key text or None, rest); quotes inside the key are honoured."""
    cut = len(resource)
    for index, char in enumerate(resource):
        if char in "(/":
            cut = index
            break
    name, tail = resource[:cut], resource[cut:]
    if not tail.startswith("("):
        return name, None, tail.lstrip("/")
    depth, quoted = 0, False
    for index, char in enumerate(tail):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
            if depth == 0:
                return name, tail[1:index], tail[index + 1:].lstrip("/")
    raise ODataError("6", f"Неверный URL: {resource}")


def parse_key(text: str, definition: EntitySet) -> Any:
    """`guid'…'` or `Name=literal,…` -> the store key (bare value for single-column keys)."""
    pairs = parse_arguments(text) if "=" in text else {definition.key[0]: text}
    if set(pairs) != set(definition.key):
        raise ODataError("7", f"Не указан элемент ключа сущности: {', '.join(definition.key)}")
    values = []
    for name in definition.key:
        tokens = tokenize(pairs[name])
        if len(tokens) != 1:
            raise ODataError("7", f"Неверное значение ключа {name}")
        value = parse_literal(*tokens[0]).value
        values.append(str(value) if definition.by_name[name].edm == "Edm.Int64" else value)
    return values[0] if len(values) == 1 else tuple(values)


def parse_arguments(text: str) -> dict[str, str]:
    """`A=lit,B='x,y'` -> {"A": "lit", "B": "'x,y'"} (commas inside quotes kept)."""
    result, current, quoted = {}, "", False
    for char in text + ",":
        if char == "'":
            quoted = not quoted
        if char == "," and not quoted:
            if current.strip():
                name, _, value = current.partition("=")
                result[name.strip()] = value.strip()
            current = ""
            continue
        current += char
    if "Condition" in result and result["Condition"].startswith("'"):
        result["Condition"] = result["Condition"][1:-1].replace("''", "'")
    if "Period" in result:
        result["Period"] = parse_literal(*tokenize(result["Period"])[0]).value
    return result


def parse_select(text: str | None, definition: EntitySet) -> list[str] | None:
    if not text or text.strip() == "*":
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if "/" in name:
            raise ODataError("0", f"Выбор реквизитов связанных объектов ($expand) не поддерживается: {name}")
        if name not in definition.by_name:
            raise ODataError("10", f"Свойство не найдено: {name}")
    return names


def json_body(body: bytes) -> dict[str, Any]:
    try:
        values = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ODataError("2", f"Неверный формат запроса: {error}") from None
    if not isinstance(values, dict):
        raise ODataError("2", "Неверный формат запроса: ожидается объект JSON")
    return {key: value for key, value in values.items() if "@" not in key and not key.startswith("odata.")}


def _integer(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise ODataError("14", f"Ошибка разбора параметра {name}: {raw}")
    return int(raw)
