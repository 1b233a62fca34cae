"""In-memory infobase: rows as tuples per set, DataVersion and the change-version log."""
from __future__ import annotations

import base64
import bisect
import random
import struct
from datetime import date, datetime
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Callable, Iterator, NamedTuple

from .schema import AS_OF, SETS, EntitySet, Prop

Row = tuple
Key = Any


class StoreError(Exception):
    """A write the infobase refuses; `code` is the internal error code 1C puts in the reply body
    (1C integration book)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Table:
    """Rows of one set keyed by the set's key columns; dict order is the physical order."""

    def __init__(self, definition: EntitySet) -> None:
        self.definition = definition
        self.rows: dict[Key, Row] = {}
        # a single-column key is the bare value (the Ref_Key string), a composite key a tuple
        self.key_of: Callable[[Row], Key] = itemgetter(*(definition.index(k) for k in definition.key))
        self._indexes: dict[int, dict[Any, list[Key]]] = {}
        self._sorted: dict[str, list[Row]] = {}

    def put(self, row: Row) -> None:
        key = self.key_of(row)
        old = self.rows.get(key)
        self.rows[key] = row
        self._sorted.clear()
        for column, index in self._indexes.items():
            if old is not None and old[column] != row[column]:
                _unindex(index, old[column], key)
            if old is None or old[column] != row[column]:
                index.setdefault(row[column], []).append(key)

    def remove(self, key: Key) -> Row:
        row = self.rows.pop(key)
        self._sorted.clear()
        for column, index in self._indexes.items():
            _unindex(index, row[column], key)
        return row

    def sorted_rows(self, order: str, sort: Callable[[list[Row]], list[Row]]) -> list[Row]:
        """All rows in an `$orderby` order, cached until the next write (page after page reuse it)."""
        if order not in self._sorted:
            self._sorted[order] = sort(list(self.rows.values()))
        return self._sorted[order]

    def index(self, column: int) -> dict[Any, list[Key]]:
        """Keys by the value of one column; built on first use, then maintained by every write."""
        if column not in self._indexes:
            built: dict[Any, list[Key]] = {}
            for key, row in self.rows.items():
                built.setdefault(row[column], []).append(key)
            self._indexes[column] = built
        return self._indexes[column]


def _unindex(index: dict[Any, list[Key]], value: Any, key: Key) -> None:
    keys = index[value]
    keys.remove(key)
    if not keys:
        del index[value]


class Change(NamedTuple):
    version: int
    type: str
    ref: str
    deleted: bool


@dataclass
class ChangeLog:
    """Version numbers read the way 1C:Кабинет сотрудника reads its feed (`/data/updates` in
    CommonModules/КабинетСотрудникаМенеджерОбмена/Ext/Module.bsl and the constant
    ВерсияИзмененийКабинетСотрудника of yevgeniy1212/zup-korp; docs/onec-extension.md, section 3):
    one global counter."""

    version: int = 0
    latest: dict[tuple[str, str], int] = field(default_factory=dict)
    entries: list[Change] = field(default_factory=list)
    acknowledged: int = 0

    def record(self, type_: str, ref: str, deleted: bool) -> None:
        self.version += 1
        self.latest[(type_, ref)] = self.version
        self.entries.append(Change(self.version, type_, ref, deleted))

    def since(self, version: int, limit: int) -> tuple[list[Change], bool]:
        """Latest change per object with a version above `version`, oldest first; deletions the node
        acknowledged are forgotten (the extension keeps a row per live object,
        docs/onec-extension.md, section 3)."""
        start = bisect.bisect_right(self.entries, version, key=lambda change: change.version)
        picked: list[Change] = []
        for position in range(start, len(self.entries)):
            change = self.entries[position]
            if self.latest[(change.type, change.ref)] != change.version:
                continue
            if change.deleted and change.version <= self.acknowledged:
                continue
            if len(picked) == limit:
                return picked, True
            picked.append(change)
        return picked, False


def data_version(counter: int) -> str:
    """DataVersion: base64 of an 8-byte row version [not in the docs: the form of "AAAAAQAAAAA="
    in the captured replies]."""
    return base64.b64encode(struct.pack(">II", counter, 0)).decode()


FILL_VALUES = {  # Documents/ПереносОтпуска.xml: ВидОтпуска FillValue = Catalog.ВидыОтпусков.Основной
    "Document_ПереносОтпуска": {"ВидОтпуска_Key": ("Catalog_ВидыОтпусков", "Основной")},
}


class Store:
    """All tables plus the write rules every client-visible write goes through."""

    def __init__(self, seed: int) -> None:
        self.tables = {name: Table(definition) for name, definition in SETS.items()}
        self.rng = random.Random(seed * 7919 + 17)
        self.writes = 0
        self.changes = ChangeLog()
        self.request_meta: dict[str, dict[str, str]] = {}
        self.client_documents: list[tuple[str, str]] = []
        self.document_numbers: dict[str, int] = {}
        self.today: date = AS_OF  # advanced by mutations

    def now(self) -> str:
        """ТекущаяДатаСеанса of the emulated infobase: its own date (never the wall clock's) at the wall time."""
        return datetime.combine(self.today, datetime.now().time()).strftime("%Y-%m-%dT%H:%M:%S")

    def new_guid(self) -> str:
        raw = f"{self.rng.getrandbits(128):032x}"
        return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"

    def next_number(self, set_name: str, prefix: str = "") -> str:
        """A document number in 1C style: prefix + zero-padded counter, 11 characters."""
        value = self.document_numbers.get(set_name, 0) + 1
        self.document_numbers[set_name] = value
        return f"{prefix}{value:0{11 - len(prefix)}d}"

    def table(self, set_name: str) -> Table:
        return self.tables[set_name]

    def build_row(self, definition: EntitySet, values: dict[str, Any], trusted: bool = False) -> Row:
        """A row tuple from field values; missing fields get the 1C empty value of their type."""
        row = list(definition.defaults)
        for name, value in self.stored_values(definition, values, trusted).items():
            row[definition.position[name]] = value
        return tuple(row)

    @staticmethod
    def stored_values(definition: EntitySet, values: dict[str, Any], trusted: bool) -> dict[str, Any]:
        """Written values in stored form; `trusted` values (from the generator) skip the checks."""
        if trusted:
            return values
        unknown = set(values) - set(definition.columns)
        if unknown:
            raise StoreError("10", f"Свойство не найдено: {', '.join(sorted(unknown))}")
        return {name: _coerce(definition.by_name[name], value) for name, value in values.items()}

    def insert(self, set_name: str, values: dict[str, Any], trusted: bool = False) -> Row:
        definition = SETS[set_name]
        if definition.is_object:
            values = {"Ref_Key": self.new_guid(), **self.fill_values(set_name), **values, "DataVersion": self._bump()}
        row = self.build_row(definition, values, trusted)
        table = self.tables[set_name]
        key = table.key_of(row)
        if key in table.rows:
            raise StoreError("15", "Сущность с таким ключом уже существует")
        table.put(row)
        self._track(definition, row, deleted=False)
        return row

    def update(self, set_name: str, key: Key, values: dict[str, Any], trusted: bool = False) -> Row:
        definition = SETS[set_name]
        table = self.tables[set_name]
        current = table.rows.get(key)
        if current is None:
            raise StoreError("9", "Экземпляр сущности не найден")
        merged = dict(zip(definition.columns, current))
        merged.update(self.stored_values(definition, values, trusted))
        if definition.is_object:
            merged["DataVersion"] = self._bump()
        row = tuple(merged[name] for name in definition.columns)
        if table.key_of(row) != key:
            raise StoreError("16", "Нельзя изменить ключ сущности")
        table.put(row)
        self._track(definition, row, deleted=False)
        return row

    def delete(self, set_name: str, key: Key) -> None:
        table = self.tables[set_name]
        if key not in table.rows:
            raise StoreError("9", "Экземпляр сущности не найден")
        row = table.remove(key)
        self._track(SETS[set_name], row, deleted=True)

    def fill_values(self, set_name: str) -> dict[str, str]:
        """FillValue of attributes (a new object gets them unless written): predefined catalog items."""
        return self.predefined_values(FILL_VALUES.get(set_name, {}))

    def predefined_values(self, wanted: dict[str, tuple[str, str]]) -> dict[str, str]:
        """{attribute: (catalog set, PredefinedDataName)} -> {attribute: ref of that predefined item}."""
        filled = {}
        for attribute, (catalog, predefined) in wanted.items():
            column = self.tables[catalog].definition.index("PredefinedDataName")
            rows = self.tables[catalog].rows.items()
            filled.update({attribute: key for key, row in rows if row[column] == predefined})
        return filled

    def post_document(self, set_name: str, key: Key) -> Row:
        """Проведение: 1C checks every attribute with FillChecking = ShowError first, and refuses."""
        definition, row = SETS[set_name], self.tables[set_name].rows.get(key)
        if row is None:
            raise StoreError("9", "Экземпляр сущности не найден")
        if not definition.postable:  # Posting = Deny; the wording of 1C's refusal is not documented
            raise StoreError("-1", "Не удалось провести документ: документы этого вида не проводятся")
        missing = [prop.name.removesuffix("_Key") for prop in definition.props
                   if prop.required and row[definition.index(prop.name)] == prop.empty()]
        for prop in definition.props:
            for number, line in enumerate(row[definition.index(prop.name)] if prop.rows else (), start=1):
                missing += [f"{prop.name}[{number}].{column.name.removesuffix('_Key')}"
                            for column, value in zip(prop.rows, line) if column.required and value == column.empty()]
        if missing:
            raise StoreError("-1", f"Не удалось провести документ: {'; '.join(f'Поле «{name}» не заполнено' for name in missing)}")
        return self.update(set_name, key, {"Posted": True}, trusted=True)

    def get(self, set_name: str, key: Key) -> Row | None:
        return self.tables[set_name].rows.get(key)

    def value(self, set_name: str, row: Row, column: str) -> Any:
        return row[SETS[set_name].index(column)]

    def find(self, set_name: str, column: str, value: Any) -> Iterator[Row]:
        """Rows whose column equals value, via the lazily built index."""
        table = self.tables[set_name]
        for key in table.index(table.definition.index(column)).get(value, ()):
            yield table.rows[key]

    def _bump(self) -> str:
        self.writes += 1
        return data_version(self.writes)

    def _track(self, definition: EntitySet, row: Row, deleted: bool) -> None:
        if not definition.tracked:
            return
        ref_column = "Ref_Key" if definition.is_object else "Сотрудник_Key"
        self.changes.record(definition.tracked, row[definition.index(ref_column)], deleted)


def _coerce(prop: Prop, value: Any) -> Any:
    """Normalise a written value to the form the set stores (JSON-ready, 1C quirks applied)."""
    if prop.is_table:
        if not isinstance(value, (list, tuple)):
            raise StoreError("4", f"Неверное значение свойства {prop.name}: ожидается массив строк")
        return tuple(_table_row(prop, number, item) for number, item in enumerate(value, start=1))
    if prop.edm == "Edm.Guid":
        return _coerce_guid(prop, value)
    if prop.edm == "Edm.DateTime":
        return _coerce_date(prop, value)
    if prop.edm == "Edm.Boolean":
        if not isinstance(value, bool):
            raise StoreError("4", f"Неверное значение свойства {prop.name}: ожидается Булево")
        return value
    if prop.edm == "Edm.Double":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise StoreError("4", f"Неверное значение свойства {prop.name}: ожидается Число")
        return value
    if prop.edm == "Edm.Int64":
        return str(int(value))  # [not in the docs: a string in the captured replies]
    if not isinstance(value, str):
        raise StoreError("4", f"Неверное значение свойства {prop.name}: ожидается Строка")
    # [not in the docs: fixed-length strings come right-padded in the captured replies]
    return value.ljust(prop.fixed) if prop.fixed else value


def _coerce_guid(prop: Prop, value: Any) -> str:
    text = str(value).lower()
    parts = text.split("-")
    if len(text) != 36 or [len(p) for p in parts] != [8, 4, 4, 4, 12] or any(
            ch not in "0123456789abcdef" for ch in "".join(parts)):
        raise StoreError("4", f"Неверное значение свойства {prop.name}: ожидается УникальныйИдентификатор")
    return text


def _coerce_date(prop: Prop, value: Any) -> str:
    text = str(value)
    if len(text) == 10:
        text += "T00:00:00"
    if len(text) != 19 or text[4] != "-" or text[10] != "T":
        raise StoreError("4", f"Неверное значение свойства {prop.name}: ожидается Дата (ГГГГ-ММ-ДДTчч:мм:сс)")
    return text


def _table_row(prop: Prop, number: int, item: Any) -> Row:
    if not isinstance(item, dict):
        raise StoreError("4", f"Неверная строка табличной части {prop.name}")
    fields = {key: val for key, val in item.items() if key not in ("Ref_Key", "LineNumber")}
    columns = {p.name: p for p in prop.rows}
    unknown = set(fields) - set(columns)
    if unknown:
        raise StoreError("10", f"Свойство не найдено: {', '.join(sorted(unknown))}")
    return tuple(str(number) if p.name == "LineNumber" else (
        _coerce(p, fields[p.name]) if p.name in fields else p.empty()) for p in prop.rows)
