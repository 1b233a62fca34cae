"""Universal lists (scope ``lists``): lists.*, lists.field.*, lists.element.* (REST docs: api-reference/lists/).

List elements are the business-process documents of the runtime (``["lists", "BizprocDocument",
"<ELEMENT_ID>"]``); ``read_document``/``write_document`` are what the runtime uses, and
``on_element_saved`` lets it autostart templates on add/update.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from itertools import count
from typing import Any, Callable

from . import persist
from .bp_common import as_int, dict_param, now_iso, portal_lock, required, user_id_of
from .listing import Query, paginate, select_fields
from .registry import Call, ListPage, Portal, RestError, method

IBLOCK_TYPES = ("lists", "bitrix_processes", "lists_socnet")
PROPERTY_TYPES = {
    "S": "String", "N": "Number", "L": "List", "F": "File", "G": "Link to sections",
    "E": "Link to elements", "S:Date": "Date", "S:DateTime": "Date/Time", "S:HTML": "HTML/text",
    "E:EList": "Link to elements (list)", "N:Sequence": "Counter", "S:ECrm": "Link to CRM",
    "S:Money": "Money", "S:DiskFile": "File (Drive)", "S:employee": "Link to user",
}
SYSTEM_FIELDS = {
    "NAME": "Name", "SORT": "Sort", "ACTIVE_FROM": "Active from", "ACTIVE_TO": "Active to",
    "PREVIEW_PICTURE": "Preview picture", "PREVIEW_TEXT": "Preview text",
    "DETAIL_PICTURE": "Detail picture", "DETAIL_TEXT": "Detail text", "DATE_CREATE": "Created",
    "CREATED_BY": "Created by", "TIMESTAMP_X": "Modified", "MODIFIED_BY": "Modified by",
}
AUTO_FIELDS = ("DATE_CREATE", "CREATED_BY", "TIMESTAMP_X", "MODIFIED_BY")
# CBPDocumentEventType bits (REST docs: api-reference/bizproc/template/bizproc-workflow-template-add.md)
EVENT_CREATE, EVENT_EDIT = 1, 2

ElementListener = Callable[[Portal, int, int, int], None]
_ELEMENT_LISTENERS: list[ElementListener] = []


def on_element_saved(listener: ElementListener) -> None:
    """Register ``listener(portal, element_id, event_bit, user_id)`` called after add/update."""
    if listener not in _ELEMENT_LISTENERS:
        _ELEMENT_LISTENERS.append(listener)


@dataclass
class ListField:
    field_id: str  # "NAME" or "PROPERTY_<id>"
    name: str
    type: str
    code: str = ""
    sort: int = 500
    is_required: bool = False
    multiple: bool = False
    default_value: Any = ""
    enum: dict[int, dict] = field(default_factory=dict)  # value id -> {VALUE, SORT, DEF}
    settings: dict = field(default_factory=dict)

    @property
    def is_property(self) -> bool:
        return self.field_id.startswith("PROPERTY_")

    def row(self) -> dict:
        """The lists.field.get shape."""
        row = {
            "FIELD_ID": self.field_id, "SORT": str(self.sort), "NAME": self.name,
            "IS_REQUIRED": "Y" if self.is_required else "N", "MULTIPLE": "Y" if self.multiple else "N",
            "DEFAULT_VALUE": self.default_value, "TYPE": self.type, "SETTINGS": self.settings,
        }
        if self.is_property:
            base, _, user_type = self.type.partition(":")
            row |= {"ID": self.field_id[9:], "CODE": self.code, "PROPERTY_TYPE": base,
                    "PROPERTY_USER_TYPE": user_type or False}
        if self.enum:
            row["DISPLAY_VALUES_FORM"] = {str(k): v["VALUE"] for k, v in self.enum.items()}
        return row


@dataclass
class Iblock:
    id: int
    type_id: str
    code: str
    name: str
    description: str = ""
    sort: int = 500
    bizproc: bool = False
    socnet_group_id: int | None = None
    messages: dict = field(default_factory=dict)
    rights: dict = field(default_factory=dict)
    fields: dict[str, ListField] = field(default_factory=dict)

    def row(self) -> dict:
        return {
            "ID": str(self.id), "IBLOCK_TYPE_ID": self.type_id, "CODE": self.code, "NAME": self.name,
            "ACTIVE": "Y", "SORT": str(self.sort), "DESCRIPTION": self.description,
            "BIZPROC": "Y" if self.bizproc else "N",
            "SOCNET_GROUP_ID": str(self.socnet_group_id) if self.socnet_group_id else None,
            "MESSAGES": self.messages, "RIGHTS": self.rights,
        }

    def property_by_key(self, key: str) -> ListField | None:
        """``PROPERTY_12`` or the document-style ``PROPERTY_<CODE>`` (case-insensitive code)."""
        upper = key.upper()
        if upper in self.fields:
            return self.fields[upper]
        if not upper.startswith("PROPERTY_"):
            return None
        code = upper[9:]
        return next((f for f in self.fields.values() if f.code and f.code.upper() == code), None)


@dataclass
class Element:
    id: int
    iblock_id: int
    code: str
    fields: dict[str, Any]  # system fields: NAME, SORT, DATE_CREATE, CREATED_BY, ...
    values: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)  # PROPERTY_x -> [(value id, v)]


@dataclass
class StoredFile:
    id: int
    name: str
    content: bytes


@dataclass
class ListsState:
    iblocks: dict[int, Iblock] = field(default_factory=dict)
    elements: dict[int, Element] = field(default_factory=dict)
    files: dict[int, StoredFile] = field(default_factory=dict)
    iblock_ids: count = field(default_factory=lambda: count(1))
    property_ids: count = field(default_factory=lambda: count(100))
    element_ids: count = field(default_factory=lambda: count(1))
    value_ids: count = field(default_factory=lambda: count(1000))
    file_ids: count = field(default_factory=lambda: count(500))

    def snapshot(self) -> dict[str, Any]:
        """Everything, for the state file."""
        return persist.snapshot(self)

    def restore(self, saved: dict[str, Any]) -> None:
        persist.restore(self, saved)


def lists_state(portal: Portal) -> ListsState:
    return portal.feature("lists", ListsState)


# ---------------------------------------------------------------- lookups


def _iblock_type(call: Call) -> str:
    type_id = str(required(call, "IBLOCK_TYPE_ID"))
    if type_id not in IBLOCK_TYPES:
        raise RestError("ERROR_IBLOCK_NOT_FOUND", "Iblock not found", 400)
    return type_id


def _find_iblock(state: ListsState, call: Call) -> Iblock:
    type_id = _iblock_type(call)
    iblock_id, code = call.param("IBLOCK_ID"), call.param("IBLOCK_CODE")
    if iblock_id in (None, "") and code in (None, ""):
        raise RestError("ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `IBLOCK_ID` is missing", 400)
    for iblock in state.iblocks.values():
        by_id = iblock_id not in (None, "") and str(iblock.id) == str(iblock_id).strip()
        by_code = iblock_id in (None, "") and iblock.code == str(code)
        if (by_id or by_code) and iblock.type_id == type_id:
            return iblock
    raise RestError("ERROR_IBLOCK_NOT_FOUND", "Iblock not found", 400)


def iblock_for_document_type(portal: Portal, entity_type: str) -> Iblock | None:
    """``iblock_<id>`` -> the list, for bizproc DOCUMENT_TYPE checks."""
    if not str(entity_type).startswith("iblock_"):
        return None
    iblock_id = as_int(str(entity_type)[7:])
    with portal_lock(portal):
        return lists_state(portal).iblocks.get(iblock_id) if iblock_id is not None else None


def _find_element(state: ListsState, iblock: Iblock, call: Call) -> Element:
    element_id, code = call.param("ELEMENT_ID"), call.param("ELEMENT_CODE")
    if element_id in (None, "") and code in (None, ""):
        raise RestError("ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `ELEMENT_ID` is missing", 400)
    for element in state.elements.values():
        if element.iblock_id != iblock.id:
            continue
        if element_id not in (None, "") and str(element.id) == str(element_id).strip():
            return element
        if element_id in (None, "") and element.code == str(code):
            return element
    raise RestError("ERROR_ELEMENT_NOT_FOUND", "Element not found", 400)


# ---------------------------------------------------------------- lists.*


@method("lists.add", scope="lists", admin_only=True)
def lists_add(call: Call) -> int:
    type_id = str(required(call, "IBLOCK_TYPE_ID"))
    code = str(required(call, "IBLOCK_CODE"))
    fields = dict_param(call, "FIELDS")
    if type_id not in IBLOCK_TYPES:
        raise RestError("ERROR_ADD_IBLOCK", "Incorrect iblock type", 400)
    if not str(fields.get("NAME", "")).strip():
        raise RestError("ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `NAME` is missing", 400)
    group_id = as_int(call.param("SOCNET_GROUP_ID"))
    if type_id == "lists_socnet" and not group_id:
        raise RestError("ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `SOCNET_GROUP_ID` is missing", 400)
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        if any(b.code == code and b.type_id == type_id for b in state.iblocks.values()):
            raise RestError("ERROR_IBLOCK_ALREADY_EXISTS", "Iblock already exists", 400)
        iblock = Iblock(next(state.iblock_ids), type_id, code, str(fields["NAME"]))
        _apply_iblock_fields(iblock, fields)
        iblock.socnet_group_id = group_id
        iblock.messages = dict_param(call, "MESSAGES")
        iblock.rights = dict_param(call, "RIGHTS")
        iblock.fields["NAME"] = ListField("NAME", SYSTEM_FIELDS["NAME"], "NAME", sort=10, is_required=True)
        state.iblocks[iblock.id] = iblock
        return iblock.id


def _apply_iblock_fields(iblock: Iblock, fields: dict) -> None:
    iblock.name = str(fields.get("NAME", iblock.name))
    iblock.description = str(fields.get("DESCRIPTION", iblock.description))
    iblock.sort = as_int(fields.get("SORT", iblock.sort)) or 500
    if "BIZPROC" in fields:
        iblock.bizproc = str(fields["BIZPROC"]).upper() == "Y"


@method("lists.get", scope="lists")
def lists_get(call: Call) -> ListPage:
    type_id = _iblock_type(call)
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        if call.param("IBLOCK_ID") not in (None, "") or call.param("IBLOCK_CODE") not in (None, ""):
            rows = [_find_iblock(state, call).row()]
        else:
            rows = [b.row() for b in state.iblocks.values() if b.type_id == type_id]
    return paginate(rows, call.param("start"))


@method("lists.update", scope="lists", admin_only=True)
def lists_update(call: Call) -> bool:
    fields = dict_param(call, "FIELDS")
    with portal_lock(call.portal):
        iblock = _find_iblock(lists_state(call.portal), call)
        if "NAME" in fields and not str(fields["NAME"]).strip():
            raise RestError("ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter `NAME` is missing", 400)
        _apply_iblock_fields(iblock, fields)
        if "MESSAGES" in call.params or "messages" in call.params:
            iblock.messages = dict_param(call, "MESSAGES")
    return True


@method("lists.delete", scope="lists", admin_only=True)
def lists_delete(call: Call) -> bool:
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        iblock = _find_iblock(state, call)
        del state.iblocks[iblock.id]
        for element_id in [e.id for e in state.elements.values() if e.iblock_id == iblock.id]:
            del state.elements[element_id]
    return True


# ---------------------------------------------------------------- lists.field.*


@method("lists.field.types", scope="lists")
def field_types(call: Call) -> dict:
    with portal_lock(call.portal):
        iblock = _find_iblock(lists_state(call.portal), call)
        unused_system = {k: v for k, v in SYSTEM_FIELDS.items() if k not in iblock.fields}
    return PROPERTY_TYPES | unused_system


@method("lists.field.add", scope="lists", admin_only=True)
def field_add(call: Call) -> str:
    fields = dict_param(call, "FIELDS")
    with portal_lock(call.portal):
        state = lists_state(call.portal)
        iblock = _find_iblock(state, call)
        list_field = add_field(state, iblock, fields)
    return list_field.field_id


def add_field(state: ListsState, iblock: Iblock, fields: dict) -> ListField:
    """Create a system field or a property on a list (also used by template import)."""
    name, type_ = str(fields.get("NAME", "")).strip(), str(fields.get("TYPE", "")).strip()
    if not name:
        raise RestError("ERROR_SAVE_FIELD", "Please fill the name field", 400)
    if type_ in SYSTEM_FIELDS:
        if type_ in iblock.fields:
            raise RestError("ERROR_SAVE_FIELD", "Property already exists", 400)
        field_id = type_
    elif type_ in PROPERTY_TYPES:
        code = str(fields.get("CODE", "")).strip()
        if not code:
            raise RestError("ERROR_SAVE_FIELD", "Please fill the code fields", 400)
        if iblock.property_by_key(f"PROPERTY_{code}"):
            raise RestError("ERROR_SAVE_FIELD", "Property already exists", 400)
        field_id = f"PROPERTY_{next(state.property_ids)}"
    else:
        raise RestError("ERROR_SAVE_FIELD", "Wrong field type", 400)
    list_field = ListField(field_id, name, type_, code=str(fields.get("CODE", "")).strip() if field_id != type_ else "")
    _apply_field_settings(state, list_field, fields)
    iblock.fields[field_id] = list_field
    return list_field


def _apply_field_settings(state: ListsState, list_field: ListField, fields: dict) -> None:
    list_field.name = str(fields.get("NAME", list_field.name))
    list_field.sort = as_int(fields.get("SORT", list_field.sort)) or 500
    list_field.is_required = str(fields.get("IS_REQUIRED", "Y" if list_field.is_required else "N")).upper() == "Y"
    list_field.multiple = str(fields.get("MULTIPLE", "Y" if list_field.multiple else "N")).upper() == "Y"
    list_field.default_value = fields.get("DEFAULT_VALUE", list_field.default_value)
    if isinstance(fields.get("SETTINGS"), dict):
        list_field.settings = fields["SETTINGS"]
    if list_field.type == "L":
        _apply_enum(state, list_field, fields)


def _apply_enum(state: ListsState, list_field: ListField, fields: dict) -> None:
    """LIST {tmp: {VALUE, SORT, DEF}} or LIST_TEXT_VALUES "a\\nb" (lists docs)."""
    entries = fields.get("LIST")
    if isinstance(entries, list):
        entries = dict(enumerate(entries))
    if isinstance(entries, dict):
        for key, entry in entries.items():
            entry = entry if isinstance(entry, dict) else {"VALUE": entry}
            value_id = as_int(key) if as_int(key) in list_field.enum else next(state.value_ids)
            if str(entry.get("VALUE", "")).strip():
                list_field.enum[value_id] = _enum_entry(value_id, entry)
    for line in str(fields.get("LIST_TEXT_VALUES") or "").splitlines():
        if line.strip():
            value_id = next(state.value_ids)
            list_field.enum[value_id] = _enum_entry(value_id, {"VALUE": line.strip()})


def _enum_entry(value_id: int, entry: dict) -> dict:
    """An enum value; XML_ID defaults to the value id (the core generates one when absent)."""
    return {"VALUE": str(entry["VALUE"]), "SORT": as_int(entry.get("SORT")) or 500,
            "DEF": str(entry.get("DEF", "N")).upper(), "XML_ID": str(entry.get("XML_ID") or value_id)}


def _find_field(iblock: Iblock, call: Call) -> ListField:
    field_id = str(required(call, "FIELD_ID")).upper()
    if field_id not in iblock.fields:
        raise RestError("ERROR_FIELD_NOT_FOUND", "Field not found", 400)
    return iblock.fields[field_id]


@method("lists.field.get", scope="lists")
def field_get(call: Call) -> dict:
    with portal_lock(call.portal):
        iblock = _find_iblock(lists_state(call.portal), call)
        if call.param("FIELD_ID") in (None, ""):
            return {key: f.row() for key, f in iblock.fields.items()}
        field_id = str(call.param("FIELD_ID")).upper()
        return {field_id: iblock.fields[field_id].row()} if field_id in iblock.fields else {}


@method("lists.field.update", scope="lists", admin_only=True)
def field_update(call: Call) -> bool:
    fields = dict_param(call, "FIELDS")
    with portal_lock(call.portal):
        state = lists_state(call.portal)
        list_field = _find_field(_find_iblock(state, call), call)
        if "NAME" in fields and not str(fields["NAME"]).strip():
            raise RestError("ERROR_SAVE_FIELD", "Please fill the name field", 400)
        if "TYPE" in fields and str(fields["TYPE"]) != list_field.type:
            raise RestError("ERROR_SAVE_FIELD", "Field type can not be changed", 400)
        _apply_field_settings(state, list_field, fields)
    return True


@method("lists.field.delete", scope="lists", admin_only=True)
def field_delete(call: Call) -> bool:
    with portal_lock(call.portal):
        state = lists_state(call.portal)
        iblock = _find_iblock(state, call)
        list_field = _find_field(iblock, call)
        if list_field.field_id == "NAME":
            raise RestError("ERROR_DELETE_FIELD", "Field NAME can not be deleted", 400)
        del iblock.fields[list_field.field_id]
        for element in state.elements.values():
            element.values.pop(list_field.field_id, None)
            element.fields.pop(list_field.field_id, None)
    return True


# ---------------------------------------------------------------- element values


def _value_list(raw: Any) -> list[Any]:
    """Scalar, list or ``{value_id: value}`` -> values without empties."""
    if isinstance(raw, dict):
        raw = list(raw.values())
    values = raw if isinstance(raw, list) else [raw]
    return [v for v in values if v is not None and v != ""]


def _checked_value(state: ListsState, list_field: ListField, value: Any) -> Any:
    base = list_field.type
    if base == "N" and _number(value) is None:
        raise _value_error(list_field)
    if base == "L":
        enum_id = as_int(value)
        if enum_id not in list_field.enum:
            raise _value_error(list_field)
        return enum_id
    if base == "S:employee":
        if user_id_of(value) is None:
            raise _value_error(list_field)
        return user_id_of(value)
    if base == "F":
        return _stored_file(state, list_field, value)
    return value


def _number(value: Any) -> float | None:
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        return None


def _stored_file(state: ListsState, list_field: ListField, value: Any) -> int:
    """A file value is ["name", base64]; an existing file id is kept."""
    if as_int(value) in state.files:
        return as_int(value)
    if isinstance(value, dict):
        value = [value.get("0"), value.get("1")]
    if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], str)):
        raise _value_error(list_field)
    try:
        content = base64.b64decode(value[1], validate=True)
    except (binascii.Error, ValueError):
        raise _value_error(list_field) from None
    stored = StoredFile(next(state.file_ids), str(value[0]), content)
    state.files[stored.id] = stored
    return stored.id


def _value_error(list_field: ListField) -> RestError:
    return RestError("ERROR_ELEMENT_FIELD_VALUE", f'Incorrect value of field "{list_field.name}"', 400)


def _file_value_pairs(raw: Any) -> list[Any]:
    """A single ["name", base64] pair is one file, not two values."""
    if isinstance(raw, list) and len(raw) == 2 and all(isinstance(x, str) for x in raw) and "." in raw[0]:
        return [raw]
    return _value_list(raw)


def _element_values(state: ListsState, iblock: Iblock, fields: dict) -> tuple[dict, dict]:
    """FIELDS -> (system fields, property values); validates types and required fields."""
    system: dict[str, Any] = {}
    values: dict[str, list[tuple[int, Any]]] = {}
    for key, raw in fields.items():
        list_field = iblock.property_by_key(str(key))
        if list_field is not None and list_field.is_property:
            items = _file_value_pairs(raw) if list_field.type == "F" else _value_list(raw)
            items = items if list_field.multiple else items[:1]
            values[list_field.field_id] = [(next(state.value_ids), _checked_value(state, list_field, v)) for v in items]
        elif str(key).upper() in SYSTEM_FIELDS and str(key).upper() not in AUTO_FIELDS:
            system[str(key).upper()] = raw
    _check_required(iblock, system, values)
    return system, values


def _check_required(iblock: Iblock, system: dict, values: dict) -> None:
    if not str(system.get("NAME", "")).strip():
        raise RestError("ERROR_ELEMENT_FIELD_VALUE", 'Field "Name" is required.', 400)
    for list_field in iblock.fields.values():
        if list_field.is_required and list_field.is_property and not values.get(list_field.field_id):
            raise RestError("ERROR_ELEMENT_FIELD_VALUE", f'Field "{list_field.name}" is required.', 400)


def element_row(element: Element) -> dict:
    """The lists.element.get shape: property values keyed by value id
    [inferred: REST docs api-reference/lists/elements/lists-element-get.md shows no response]."""
    row = {"ID": str(element.id), "IBLOCK_ID": str(element.iblock_id), "CODE": element.code,
           "IBLOCK_SECTION_ID": None, "BP_PUBLISHED": "Y"}
    row |= {key: (str(value) if isinstance(value, int) else value) for key, value in element.fields.items()}
    for field_id, items in element.values.items():
        row[field_id] = {str(value_id): str(value) for value_id, value in items}
    return row


# ---------------------------------------------------------------- lists.element.*


@method("lists.element.add", scope="lists")
def element_add(call: Call) -> int:
    code = str(required(call, "ELEMENT_CODE"))
    fields = dict_param(call, "FIELDS")
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        iblock = _find_iblock(state, call)
        if any(e.code == code and e.iblock_id == iblock.id for e in state.elements.values()):
            raise RestError("ERROR_ELEMENT_ALREADY_EXISTS", "Element already exists", 400)
        system, values = _element_values(state, iblock, fields)
        stamp = now_iso()
        system |= {"DATE_CREATE": stamp, "TIMESTAMP_X": stamp, "CREATED_BY": call.user_id,
                   "MODIFIED_BY": call.user_id}
        system.setdefault("SORT", 500)
        element = Element(next(state.element_ids), iblock.id, code, system, values)
        state.elements[element.id] = element
    _notify_saved(call.portal, element.id, EVENT_CREATE, call.user_id)
    return element.id


@method("lists.element.update", scope="lists")
def element_update(call: Call) -> bool:
    fields = dict_param(call, "FIELDS")
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        iblock = _find_iblock(state, call)
        element = _find_element(state, iblock, call)
        system, values = _element_values(state, iblock, fields)
        # update replaces the whole field set; omitted properties are cleared
        # (REST docs: api-reference/lists/elements/lists-element-update.md)
        kept = {key: element.fields[key] for key in ("DATE_CREATE", "CREATED_BY") if key in element.fields}
        element.fields = kept | system | {"TIMESTAMP_X": now_iso(), "MODIFIED_BY": call.user_id}
        element.values = values
    _notify_saved(call.portal, element.id, EVENT_EDIT, call.user_id)
    return True


def _notify_saved(portal: Portal, element_id: int, event_bit: int, user_id: int) -> None:
    for listener in _ELEMENT_LISTENERS:
        listener(portal, element_id, event_bit, user_id)


@method("lists.element.delete", scope="lists")
def element_delete(call: Call) -> bool:
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        element = _find_element(state, _find_iblock(state, call), call)
        del state.elements[element.id]
    return True


@method("lists.element.get", scope="lists")
def element_get(call: Call) -> ListPage:
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        iblock = _find_iblock(state, call)
        if call.param("ELEMENT_ID") not in (None, "") or call.param("ELEMENT_CODE") not in (None, ""):
            elements = [e for e in state.elements.values() if e.iblock_id == iblock.id
                        and _element_matches_ref(e, call)]
        else:
            elements = [e for e in state.elements.values() if e.iblock_id == iblock.id]
        rows = [element_row(e) for e in elements]
    query = Query.from_params(dict_param(call, "FILTER"), dict_param(call, "ELEMENT_ORDER") or {"ID": "ASC"})
    rows = query.apply(rows, _filter_view)
    # b24restdocs api-reference/lists/elements/lists-element-get.md: SELECT defaults to ['ID']
    select = call.param("SELECT")
    wanted = ["ID", *[name for name in select if str(name).upper() != "ID"]] if isinstance(select, list) else ["ID"]
    return paginate([select_fields(r, wanted, ["ID"]) for r in rows], call.param("start"))


def _element_matches_ref(element: Element, call: Call) -> bool:
    element_id, code = call.param("ELEMENT_ID"), call.param("ELEMENT_CODE")
    if element_id not in (None, ""):
        return str(element.id) == str(element_id).strip()
    return element.code == str(code)


def _filter_view(row: dict) -> dict:
    """Property values (keyed by value id) filter and sort as their list of values."""
    return {key: list(value.values()) if isinstance(value, dict) else value for key, value in row.items()}


@method("lists.element.get.file.url", scope="lists")
def element_file_url(call: Call) -> list[str]:
    state = lists_state(call.portal)
    with portal_lock(call.portal):
        iblock = _find_iblock(state, call)
        element = _find_element(state, iblock, call)
        list_field = _find_field(iblock, call)
        file_ids = [value for _, value in element.values.get(list_field.field_id, [])]
    return [f"/company/lists/{iblock.id}/file/0/{element.id}/{list_field.field_id}/{file_id}/?ncc=y&download=y"
            for file_id in file_ids]


# ---------------------------------------------------------------- the document API of the runtime


def read_document(portal: Portal, element_id: int) -> dict | None:
    """Document fields of an element: system fields, ``PROPERTY_<id>`` and ``PROPERTY_<CODE>``."""
    with portal_lock(portal):
        state = lists_state(portal)
        element = state.elements.get(element_id)
        if element is None:
            return None
        iblock = state.iblocks[element.iblock_id]
        document = {"ID": element.id, "IBLOCK_ID": element.iblock_id, "CODE": element.code} | element.fields
        for key in ("CREATED_BY", "MODIFIED_BY"):
            document[key] = f"user_{document[key]}" if key in document else None
        for field_id, items in element.values.items():
            list_field = iblock.fields[field_id]
            values = [_document_value(list_field, value) for _, value in items]
            plain = values if list_field.multiple else (values[0] if values else None)
            document[field_id] = plain
            if list_field.code:
                document[f"PROPERTY_{list_field.code.upper()}"] = plain
        return document


def _document_value(list_field: ListField, value: Any) -> Any:
    """Document values as bizproc sees them: users as ``user_<id>``, list values by XML_ID."""
    if list_field.type == "S:employee":
        return f"user_{value}"
    if list_field.type == "L" and value in list_field.enum:
        return list_field.enum[value]["XML_ID"]
    return value


def write_document(portal: Portal, element_id: int, changes: dict[str, Any], user_id: int) -> None:
    """SetFieldActivity: change only the given fields, keep the rest (unlike lists.element.update)."""
    with portal_lock(portal):
        state = lists_state(portal)
        element = state.elements.get(element_id)
        if element is None:
            raise LookupError(f"document {element_id} not found")
        iblock = state.iblocks[element.iblock_id]
        for key, raw in changes.items():
            list_field = iblock.property_by_key(str(key))
            if list_field is not None and list_field.is_property:
                items = _value_list(raw) if list_field.multiple else _value_list(raw)[:1]
                checked = [_checked_value(state, list_field, _enum_id(list_field, v)) for v in items]
                element.values[list_field.field_id] = [(next(state.value_ids), v) for v in checked]
            elif str(key).upper() in SYSTEM_FIELDS:
                element.fields[str(key).upper()] = raw
        element.fields |= {"TIMESTAMP_X": now_iso(), "MODIFIED_BY": user_id}


def _enum_id(list_field: ListField, value: Any) -> Any:
    """Templates set a list property by XML_ID or text (vacation.php: 'PROPERTY_approving' => 'y')."""
    if list_field.type != "L" or as_int(value) in list_field.enum:
        return value
    text = str(value).strip().lower()
    return next((k for k, e in list_field.enum.items() if text in (e["XML_ID"].lower(), e["VALUE"].lower())), value)


def document_entity(portal: Portal, element_id: int) -> tuple[int, str] | None:
    """(iblock id, iblock type) of an element."""
    with portal_lock(portal):
        state = lists_state(portal)
        element = state.elements.get(element_id)
        return (element.iblock_id, state.iblocks[element.iblock_id].type_id) if element else None


def ensure_property(portal: Portal, iblock_id: int, code: str, definition: dict) -> bool:
    """Template import: add a missing property described by DOCUMENT_FIELDS
    [not in the docs: core modules/bizproc/classes/general/workflowtemplateloader.php]."""
    with portal_lock(portal):
        state = lists_state(portal)
        iblock = state.iblocks[iblock_id]
        if iblock.property_by_key(f"PROPERTY_{code}") is not None:
            return False
        add_field(state, iblock, definition | {"CODE": code})
        return True
