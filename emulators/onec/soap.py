"""SOAP service «B24Sync» of the b24sync configuration extension (docs/architecture.md «SOAP
contract», docs/onec-extension.md)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from . import hr
from .schema import (CONTACT_KINDS, DEPARTMENTS, EMPLOYEES, HR_CURRENT, ORGS, PERSONS, POSITIONS, SETS, TAX_REGS,
                     EntitySet)
from .store import Store, StoreError

NAMESPACE = "http://b24app.org/zup/b24sync"
SERVICE = "B24Sync"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
OPERATIONS: dict[str, tuple[tuple[tuple[str, str], ...], str]] = {
    "GetChanges": ((("FromVersion", "xs:long"), ("Limit", "xs:int")), "xs:string"),
    "Acknowledge": ((("Version", "xs:long"),), "xs:boolean"),
    "GetVacationBalance": ((("Employee", "xs:string"), ("Date", "xs:date")), "xs:string"),
    "GetEmployments": ((("Person", "xs:string"),), "xs:string"),
    "GetDocuments": ((("Person", "xs:string"), ("Objects", "xs:string"), ("Limit", "xs:int")), "xs:string"),
    "GetRequestStatus": ((("Ref", "xs:string"),), "xs:string"),
    "GetDocument": ((("Ref", "xs:string"),), "xs:string"),
    "WriteDocument": ((("Object", "xs:string"), ("Fields", "xs:string"), ("Key", "xs:string")), "xs:string"),
}
TRACKED_SETS = {"organization": ORGS, "department": DEPARTMENTS, "position": POSITIONS, "person": PERSONS,
                "employee": EMPLOYEES, "hr_state": HR_CURRENT}
CERTIFICATE_DOCUMENTS = {"Document_ЗапросСправки2НДФЛСотрудником", "Document_ЗапросСправкиСотрудником",
                         "Document_СправкаНДФЛ", "Document_ИсходящаяСправкаОЗаработкеДляРасчетаПособий"}
PROCESSED = {"Согласовано", "ЗапросОбработан"}


class SoapFault(Exception):
    """A 1C exception raised inside the web-service module; the text is Russian."""


def wsdl(address: str) -> bytes:
    """The WSDL in the shape 1C generates: soapbind + soap12bind, `{Op}RequestMessage`, `#Service:Op`."""
    elements, messages, port_ops, bind11, bind12 = [], [], [], [], []
    for op, (params, result) in OPERATIONS.items():
        inputs = "".join(f'<xs:element name="{name}" type="{kind}" nillable="true"/>' for name, kind in params)
        elements.append(f'<xs:element name="{op}"><xs:complexType><xs:sequence>{inputs}</xs:sequence>'
                        f'</xs:complexType></xs:element><xs:element name="{op}Response"><xs:complexType>'
                        f'<xs:sequence><xs:element name="return" type="{result}" nillable="true"/></xs:sequence>'
                        "</xs:complexType></xs:element>")
        messages.append(f'<message name="{op}RequestMessage"><part name="parameters" element="tns:{op}"/>'
                        f'</message><message name="{op}ResponseMessage"><part name="parameters" '
                        f'element="tns:{op}Response"/></message>')
        port_ops.append(f'<operation name="{op}"><input message="tns:{op}RequestMessage"/>'
                        f'<output message="tns:{op}ResponseMessage"/></operation>')
        for prefix, target in (("soapbind", bind11), ("soap12bind", bind12)):
            target.append(f'<operation name="{op}"><{prefix}:operation style="document" '
                          f'soapAction="{NAMESPACE}#{SERVICE}:{op}"/><input><{prefix}:body use="literal"/></input>'
                          f'<output><{prefix}:body use="literal"/></output></operation>')
    text = f'''<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap12bind="http://schemas.xmlsoap.org/wsdl/soap12/" \
xmlns:soapbind="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:tns="{NAMESPACE}" \
xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsd1="{NAMESPACE}" name="{SERVICE}" targetNamespace="{NAMESPACE}">
<types><xs:schema xmlns:tns="{NAMESPACE}" xmlns:xs="http://www.w3.org/2001/XMLSchema" \
targetNamespace="{NAMESPACE}" attributeFormDefault="unqualified" elementFormDefault="qualified">{"".join(elements)}\
</xs:schema></types>
{"".join(messages)}
<portType name="{SERVICE}PortType">{"".join(port_ops)}</portType>
<binding name="{SERVICE}SoapBinding" type="tns:{SERVICE}PortType"><soapbind:binding style="document" \
transport="http://schemas.xmlsoap.org/soap/http"/>{"".join(bind11)}</binding>
<binding name="{SERVICE}Soap12Binding" type="tns:{SERVICE}PortType"><soap12bind:binding style="document" \
transport="http://schemas.xmlsoap.org/soap/http"/>{"".join(bind12)}</binding>
<service name="{SERVICE}"><port name="{SERVICE}Soap" binding="tns:{SERVICE}SoapBinding"><documentation>\
<wsi:Claim xmlns:wsi="http://ws-i.org/schemas/conformanceClaim/" conformsTo="http://ws-i.org/profiles/basic/1.1"/>\
</documentation><soapbind:address location="{escape(address)}"/></port><port name="{SERVICE}Soap12" \
binding="tns:{SERVICE}Soap12Binding"><soap12bind:address location="{escape(address)}"/></port></service>
</definitions>'''
    return text.encode()


@dataclass
class SoapReply:
    status: int
    body: bytes
    operation: str


class B24Sync:
    """Operation implementations over the store (the caller holds the store lock)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def handle(self, body: bytes, soap_action: str, content_type: str) -> SoapReply:
        version12 = "application/soap+xml" in content_type
        envelope_ns = SOAP12 if version12 else SOAP11
        operation = ""
        try:
            operation, params = parse_call(body, envelope_ns)
            action = soap_action or _content_type_action(content_type)
            if action and action.strip('"') != f"{NAMESPACE}#{SERVICE}:{operation}":
                raise SoapFault(f"Действие SOAP {action} не соответствует операции {operation}")
            result = getattr(self, operation)(**params)
            return SoapReply(200, response(envelope_ns, operation, result), operation)
        except (SoapFault, StoreError) as error:
            return SoapReply(500, fault(envelope_ns, str(error)), operation)

    def GetChanges(self, FromVersion: str, Limit: str) -> str:  # noqa: N802,N803 - SOAP names
        start, limit = _long(FromVersion, "FromVersion"), _long(Limit, "Limit")
        if limit <= 0:
            raise SoapFault("Параметр Limit должен быть больше нуля")
        changes, more = self.store.changes.since(start, limit)
        items = [self.change_item(change.type, change.ref, change.deleted) for change in changes]
        version = changes[-1].version if changes else start
        return json.dumps({"version": version, "more": more, "items": items}, ensure_ascii=False)

    def change_item(self, kind: str, ref: str, deleted: bool) -> dict[str, Any]:
        set_name = TRACKED_SETS[kind]
        row = None if deleted else self.current_row(set_name, ref)
        data = {} if row is None else self.inlined(kind, row_data(SETS[set_name], row))
        return {"type": kind, "ref": ref, "deleted": row is None, "data": data}

    def inlined(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """What the extension adds so one package is self-contained (docs/onec-extension.md).

        Organisations carry the КПП of their tax registration; contact lines the
        PredefinedDataName of their kind as ``Вид``.
        """
        if kind == "organization":
            registration = self.store.get(TAX_REGS, data.get("РегистрацияВНалоговомОргане_Key", ""))
            data["КПП"] = registration[SETS[TAX_REGS].index("КПП")] if registration else ""
        elif kind == "person":
            for line in data.get("КонтактнаяИнформация", []):
                contact_kind = self.store.get(CONTACT_KINDS, line.get("Вид_Key", ""))
                line["Вид"] = contact_kind[SETS[CONTACT_KINDS].index("PredefinedDataName")] if contact_kind else ""
        return data

    def current_row(self, set_name: str, ref: str) -> tuple | None:
        if set_name == HR_CURRENT:
            return next(iter(self.store.find(HR_CURRENT, "Сотрудник_Key", ref)), None)
        return self.store.get(set_name, ref)

    def Acknowledge(self, Version: str) -> bool:  # noqa: N802,N803
        version = _long(Version, "Version")
        if version > self.store.changes.version:
            return False
        self.store.changes.acknowledged = max(self.store.changes.acknowledged, version)
        return True

    def GetVacationBalance(self, Employee: str, Date: str) -> str:  # noqa: N802,N803
        employee = Employee.strip().lower()
        if self.store.get(EMPLOYEES, employee) is None:
            raise SoapFault(f"Сотрудник не найден: {Employee}")
        try:
            on_day = date.fromisoformat(Date[:10])
        except ValueError:
            raise SoapFault(f"Неверная дата: {Date}") from None
        balance = hr.vacation_balance(self.store, employee, on_day)
        kinds = hr.kind_names(self.store)
        by_kind = [{"kind": kinds.get(kind, kind), "days": days} for kind, days in balance.items()]
        return json.dumps({"employee": employee, "date": on_day.isoformat(),
                           "days": round(sum(balance.values()), 2), "by_kind": by_kind}, ensure_ascii=False)

    def GetEmployments(self, Person: str) -> str:  # noqa: N802,N803
        """The current HR data of every employee of one person, as hr_state items of the feed carry it."""
        person = Person.strip().lower()
        if self.store.get(PERSONS, person) is None:
            raise SoapFault(f"Физическое лицо не найдено: {Person}")
        rows = self.store.find(HR_CURRENT, "ФизическоеЛицо_Key", person)
        items = [self.inlined("hr_state", row_data(SETS[HR_CURRENT], row)) for row in rows]
        return json.dumps({"person": person, "items": items}, ensure_ascii=False)

    def GetDocuments(self, Person: str, Objects: str, Limit: str) -> str:  # noqa: N802,N803
        """The newest `Limit` documents of each of `Objects` for one person, with their GetRequestStatus state."""
        person, limit = Person.strip().lower(), _long(Limit, "Limit")
        if self.store.get(PERSONS, person) is None:
            raise SoapFault(f"Физическое лицо не найдено: {Person}")
        items = []
        for set_name in filter(None, (name.strip() for name in Objects.split(","))):
            definition = SETS.get(set_name)
            if definition is None or not set_name.startswith("Document_") or "Комментарий" not in definition.position:
                raise SoapFault(f"Документ «{set_name}» не поддерживается операцией GetDocuments")
            date, number = definition.index("Date"), definition.index("Number")
            for row in sorted(self.rows_of_person(set_name, person), key=lambda r: r[date], reverse=True)[:limit]:
                status, comment = request_status(self.store, set_name, row)
                items.append({"object": set_name, "ref": row[0], "number": row[number], "date": row[date][:10],
                              "status": status, "comment": comment})
        return json.dumps({"person": person, "items": items}, ensure_ascii=False)

    def rows_of_person(self, set_name: str, person: str) -> list[tuple]:
        """Rows whose ФизическоеЛицо is the person or whose Сотрудник is the person (a CatalogRef.ФизическиеЛица)
        or one of their employees (b24sync.ДокументыФизлица)."""
        keys = {person, *(row[0] for row in self.store.find(EMPLOYEES, "ФизическоеЛицо_Key", person))}
        definition = SETS[set_name]
        columns = [definition.index(name) for name in ("ФизическоеЛицо_Key", "Сотрудник_Key") if name in definition.position]
        return [row for row in self.store.table(set_name).rows.values()
                if any(row[column] in keys for column in columns)]

    def WriteDocument(self, Object: str, Fields: str, Key: str) -> str:  # noqa: N802,N803
        """An unposted document of a published kind; the one already carrying `Key` in Комментарий
        is returned instead of a second (b24sync.ЗаписатьДокумент, docs/onec-extension.md,
        section 2)."""
        set_name = Object.strip()
        if set_name not in SETS or SETS[set_name].kind != "document" or "Комментарий" not in SETS[set_name].by_name:
            raise SoapFault(f"Документ «{Object}» не поддерживается операцией WriteDocument")
        key = Key.strip()
        if not key:
            raise SoapFault("Параметр Key должен быть заполнен")
        try:
            values = json.loads(Fields or "{}")
        except json.JSONDecodeError as error:
            raise SoapFault(f"Неверный JSON в параметре Fields: {error}") from None
        if not isinstance(values, dict) or key not in str(values.get("Комментарий", "")):
            raise SoapFault("Параметр Fields должен быть объектом JSON, а Комментарий — содержать Key")
        existing = find_by_key(self.store, set_name, key)
        if existing is None:
            values = fill_rows(self.store, set_name, values)
            existing = self.store.insert(set_name, {"Number": self.store.next_number(set_name, "00-"),
                                                    "Date": self.store.now(), **values})
            self.store.client_documents.append((set_name, existing[0]))
            created = True
        else:
            created = False
        number = existing[SETS[set_name].index("Number")]
        return json.dumps({"ref": existing[0], "number": number, "created": created}, ensure_ascii=False)

    def GetRequestStatus(self, Ref: str) -> str:  # noqa: N802,N803
        set_name, row = self.find_request(Ref)
        status, comment = request_status(self.store, set_name, row)
        return json.dumps({"ref": row[0], "number": row[SETS[set_name].index("Number")], "status": status,
                           "comment": comment}, ensure_ascii=False)

    def GetDocument(self, Ref: str) -> str:  # noqa: N802,N803
        set_name, row = self.find_request(Ref)
        status, _ = request_status(self.store, set_name, row)
        if set_name not in CERTIFICATE_DOCUMENTS:
            raise SoapFault("По этой заявке не формируется документ")
        if status not in PROCESSED:
            raise SoapFault(f"Справка еще не подготовлена (статус заявки: {status})")
        number = row[SETS[set_name].index("Number")]
        return json.dumps({"name": f"Справка {number.strip()}.pdf", "mime": "application/pdf",
                           "content_base64": base64.b64encode(certificate_pdf(number)).decode()})

    def find_request(self, ref: str) -> tuple[str, tuple]:
        ref = ref.strip().lower()
        for set_name in SETS:
            if set_name.startswith("Document_"):
                row = self.store.get(set_name, ref)
                if row is not None:
                    return set_name, row
        raise SoapFault(f"Заявка не найдена: {ref}")


ROW_FILLS = {  # what the extension fills in a row that names none, as the document's form does for a new row
    ("Document_ГрафикОтпусков", "Сотрудники"): {"ВидОтпуска_Key": ("Catalog_ВидыОтпусков", "Основной")},
}


def fill_rows(store: Store, set_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """b24sync.ЗаписатьДокумент: empty row attributes of ROW_FILLS get their predefined item
    (docs/onec-extension.md, section 6: the vacation schedule's main vacation kind)."""
    filled = dict(values)
    for (owner, part), wanted in ROW_FILLS.items():
        if owner == set_name and isinstance(filled.get(part), list):
            defaults = store.predefined_values(wanted)
            filled[part] = [{**defaults, **row} if isinstance(row, dict) else row for row in filled[part]]
    return filled


def find_by_key(store: Store, set_name: str, key: str) -> tuple | None:
    """The unmarked document of a set whose Комментарий holds `key`."""
    definition = SETS[set_name]
    comment, mark = definition.index("Комментарий"), definition.index("DeletionMark")
    return next((row for row in store.table(set_name).rows.values() if key in row[comment] and not row[mark]), None)


def request_status(store: Store, set_name: str, row: tuple) -> tuple[str, str]:
    """Статус of a request document; certificate requests report ЗапросОбработан instead; HR documents
    are under review until HR posts them (Согласовано) or marks them for deletion (Отклонено); a statement
    that is never posted is agreed once HR marks it Выполнена."""
    definition = SETS[set_name]
    if "Статус" not in definition.position and "ЗапросОбработан" not in definition.position:
        text = row[definition.index("Комментарий")]
        if not definition.postable:  # a Кабинет сотрудника statement: HR executes it and answers in ОтветПоЗаявке
            answer = row[definition.index("ОтветПоЗаявке")]
            text = f"{text}\n{answer}".strip() if answer else text
        if row[definition.index("DeletionMark")]:
            return "Отклонено", text
        accepted = row[definition.index("Posted" if definition.postable else "Выполнена")]
        return ("Согласовано" if accepted else "Рассматривается"), text
    meta = store.request_meta.get(row[0], {})
    comment = meta.get("comment", "")
    if not comment and "Комментарий" in definition.position:
        comment = row[definition.index("Комментарий")]
    if "Статус" in definition.position:
        return row[definition.index("Статус")] or "Рассматривается", comment
    if row[definition.index("ЗапросОбработан")]:
        return "ЗапросОбработан", comment
    return meta.get("status", "Рассматривается"), comment


def row_data(definition: EntitySet, row: tuple) -> dict[str, Any]:
    """A stored row as the OData JSON object (without annotations)."""
    data: dict[str, Any] = {}
    for prop, value in zip(definition.props, row):
        if prop.rows:
            value = [dict(zip([p.name for p in prop.rows], part)) for part in value]
        data[prop.name] = value
    return data


def certificate_pdf(number: str) -> bytes:
    """A tiny one-page PDF standing in for the certificate 1C prints."""
    text = f"Certificate {number.strip()}".encode()
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for number_, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number_} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def parse_call(body: bytes, envelope_ns: str) -> tuple[str, dict[str, str]]:
    """(operation, {param: text}) from a SOAP envelope; missing parameters are refused."""
    try:
        root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as error:
        raise SoapFault(f"Ошибка разбора XML: {error}") from None
    call = root.find(f"{{{envelope_ns}}}Body/*")
    if call is None:
        raise SoapFault("Не найдено тело SOAP-сообщения (проверьте версию SOAP и Content-Type)")
    operation = etree.QName(call).localname
    if operation not in OPERATIONS or etree.QName(call).namespace != NAMESPACE:
        raise SoapFault(f"Операция не найдена: {operation}")
    values = {etree.QName(child).localname: child.text or "" for child in call}
    params = {}
    for name, _ in OPERATIONS[operation][0]:
        if name not in values:
            raise SoapFault(f"Не указан параметр {name} операции {operation}")
        params[name] = values[name]
    return operation, params


def response(envelope_ns: str, operation: str, result: Any) -> bytes:
    text = ("true" if result else "false") if isinstance(result, bool) else escape(str(result))
    return (f'<soap:Envelope xmlns:soap="{envelope_ns}"><soap:Header/><soap:Body>'
            f'<m:{operation}Response xmlns:m="{NAMESPACE}"><m:return xmlns:xs="http://www.w3.org/2001/XMLSchema" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{text}</m:return>'
            f"</m:{operation}Response></soap:Body></soap:Envelope>").encode()


def fault(envelope_ns: str, message: str) -> bytes:
    """SOAP Fault with the Russian 1C exception text; 1.2 uses soap:Receiver + xml:lang="ru" (the
    forms of W3C SOAP 1.2 Part 1, «SOAP Fault») [not in the docs: which form 1C sends]."""
    if envelope_ns == SOAP12:
        detail = (f"<soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code><soap:Reason>"
                  f'<soap:Text xml:lang="ru">{escape(message)}</soap:Text></soap:Reason>')
    else:
        detail = f"<faultcode>soap:Server</faultcode><faultstring>{escape(message)}</faultstring>"
    return (f'<soap:Envelope xmlns:soap="{envelope_ns}"><soap:Body><soap:Fault>{detail}</soap:Fault>'
            "</soap:Body></soap:Envelope>").encode()


def _content_type_action(content_type: str) -> str:
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "action":
            return value.strip('"')
    return ""


def _long(text: str, name: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SoapFault(f"Параметр {name} должен быть целым числом, получено «{text}»") from None

