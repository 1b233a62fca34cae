"""``ZupSource`` over the 1C OData standard interface."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import requests

from onec import normalize
from onec.changes import (
    Delta,
    catalog_delta,
    catalog_versions,
    data_version,
    object_hash,
    register_hashes,
    row_hash,
    snapshot_delta,
)
from onec.config import ConnectionConfig, EntitySets
from onec.errors import ODataNotFound, OneCConfigError, OneCError
from onec.models import (
    Department,
    Employee,
    EmploymentState,
    LegalEntity,
    Person,
    PersonDocument,
    Position,
    Record,
    RequestDocument,
    RequestRef,
    RequestStatus,
    VacationBalance,
)
from onec.odata import EntityQuery, ODataClient, Row, row_key
from onec.source import SourcePosition, ChangeSet
from onec.targets import (COMMENT_FIELD, TARGETS, DocumentWrites, document_state, newest, person_document,
                          person_filter, state_fields, target_for, unposted_sets, written_sets)
from onec.vacation import vacation_balance, vacation_kinds

VERSIONED = ("Ref_Key", "DataVersion", "DeletionMark")


def entity_queries(sets: EntitySets) -> dict[str, EntityQuery]:
    """What the connector reads from each set; ``$orderby`` ends with a unique key."""
    return {
        "legal_entities": EntityQuery(
            sets.legal_entities,
            (*VERSIONED, "Description", "НаименованиеПолное", "ИНН", "ОГРН", "РегистрацияВНалоговомОргане_Key"),
            "Description,Ref_Key",
        ),
        "tax_registrations": EntityQuery(sets.tax_registrations, ("Ref_Key", "КПП"), "Ref_Key"),
        "departments": EntityQuery(
            sets.departments,
            (*VERSIONED, "Code", "Description", "Owner_Key", "Parent_Key", "Расформировано"),
            "Code,Ref_Key",
        ),
        "positions": EntityQuery(sets.positions, (*VERSIONED, "Description"), "Description,Ref_Key"),
        "persons": EntityQuery(
            sets.persons,
            (*VERSIONED, "IsFolder", "Фамилия", "Имя", "Отчество", "ДатаРождения", "СтраховойНомерПФР", "ИНН",
             "КонтактнаяИнформация"),
            "Code,Ref_Key",
        ),
        "contact_kinds": EntityQuery(sets.contact_kinds, ("Ref_Key", "PredefinedDataName"), "Ref_Key"),
        "employees": EntityQuery(
            sets.employees,
            (*VERSIONED, "Code", "Description", "ФизическоеЛицо_Key", "ГоловнаяОрганизация_Key", "ВАрхиве"),
            "ФизическоеЛицо_Key,Code,Ref_Key",  # beside the register (same order): a person's cards come with their rows
        ),
        "employments": EntityQuery(
            sets.employment,
            ("Сотрудник_Key", "ФизическоеЛицо_Key", "ТекущаяОрганизация_Key", "ТекущееПодразделение_Key",
             "ТекущаяДолжность_Key", "ДатаПриема", "ДатаУвольнения", "ТекущийВидЗанятости", "КоличествоСтавок"),
            "ФизическоеЛицо_Key,Сотрудник_Key",  # grouped by person: employments_by_person
            key="Сотрудник_Key",
        ),
        "vacations_taken": EntityQuery(
            sets.vacations_taken, ("Сотрудник_Key", "ВидЕжегодногоОтпуска_Key", "Количество", "ДатаНачала"),
            "Сотрудник_Key", key="Сотрудник_Key",
        ),
        "vacation_remains": EntityQuery(
            sets.vacation_remains, ("Сотрудник_Key", "ВидЕжегодногоОтпуска_Key", "Дата", "ОстатокДней"),
            "Сотрудник_Key", key="Сотрудник_Key",
        ),
        "vacation_kinds": EntityQuery(
            sets.vacation_kinds, ("Ref_Key", "Description", "КоличествоДнейВГод", "ОсновнойОтпуск"), "Ref_Key",
        ),
    }


VERSIONED_KINDS = ("persons",)
"""Kinds whose change is found by ``DataVersion`` (a scan of keys and versions, then the changed objects by
key): their rows are large (persons' contact information). The other sets' rows are small: a scan of the
whole rows, compared by hash, finds their changes in the same requests."""
HASHED_KINDS = ("departments", "positions", "employees", "employments")


class ODataSource(DocumentWrites):
    """HR data and requests of one ZUP infobase through its OData standard interface."""

    concurrent_reads = 3  # entity sets are independent: the register, the cards and the persons arrive side by side
    employments_by_person = True  # the register is read ordered by ФизическоеЛицо_Key (entity_queries)
    has_change_feed = True  # changes(): version and hash scans, changed objects by key (onec.changes)
    position_from_read = True  # read_position(): the versions and hashes of the rows the full reads returned

    def __init__(self, config: ConnectionConfig, *, session: requests.Session | None = None) -> None:
        self.config = config
        self.request_documents = config.request_documents
        self.client = ODataClient(config, session=session)
        self.queries = entity_queries(config.sets)
        self._contact_kinds: dict[str, str] | None = None
        self._read_versions: dict[str, dict[str, str]] = {}

    def close(self) -> None:
        """Release the HTTP session."""
        self.client.close()

    def required_sets(self) -> list[str]:
        """Every entity set this source reads or writes: what the administrator must publish."""
        read = [query.entity_set for query in self.queries.values()]
        return list(dict.fromkeys([*read, *written_sets(self.request_documents)]))

    def check(self) -> dict[str, OneCError | None]:
        """Set name -> None if it answers ``$top=1``, else the error."""
        result: dict[str, OneCError | None] = {}
        for entity_set in self.required_sets():
            try:
                self.client.check_published(entity_set)
                result[entity_set] = None
            except OneCError as exc:
                result[entity_set] = exc
        return result

    # -- full reads ------------------------------------------------------------------------

    def legal_entities(self) -> Iterator[LegalEntity]:
        kpp = normalize.kpp_by_registration(self.client.page(self.queries["tax_registrations"]))
        versions = self._read_versions.setdefault("legal_entities", {})
        for row in self.client.read_all(self.queries["legal_entities"]):
            entity = normalize.legal_entity(row, kpp)
            versions[entity.ref] = object_hash(entity)
            yield entity

    def departments(self) -> Iterator[Department]:
        return map(normalize.department, self._tracked("departments"))

    def positions(self) -> Iterator[Position]:
        return map(normalize.position, self._tracked("positions"))

    def persons(self) -> Iterator[Person]:
        kinds = self.contact_kinds()
        for row in self._tracked("persons"):
            person = normalize.person(row, kinds)
            if person is not None:
                yield person

    def employees(self) -> Iterator[Employee]:
        return map(normalize.employee, self._tracked("employees"))

    def employments(self) -> Iterator[EmploymentState]:
        return map(normalize.employment_state, self._tracked("employments"))

    def _tracked(self, kind: str) -> Iterator[Row]:
        """Every row of ``kind``, its version (or row hash) noted for ``read_position`` (in place of what an
        earlier read of ``kind`` noted)."""
        query = self.queries[kind]
        versions: dict[str, str] = {}
        self._read_versions[kind] = versions
        version = data_version if kind in VERSIONED_KINDS else lambda row: row_hash(row, query.select)
        for row in self.client.read_all(query, seen=versions):  # the versions' keys are the keys read
            versions[row_key(row, query.key)] = version(row)
            yield row

    def read_position(self) -> SourcePosition | None:
        """The position of what this source's full reads returned: ``changes`` after it reports what
        changed since each row was read (a row changed while the read ran is reported again)."""
        return {"odata": dict(self._read_versions)}

    def contact_kinds(self) -> dict[str, str]:
        """Contact-information kind ref -> PredefinedDataName, read once per source."""
        if self._contact_kinds is None:
            self._contact_kinds = normalize.contact_kinds(self.client.page(self.queries["contact_kinds"]))
        return self._contact_kinds

    # -- changes ---------------------------------------------------------------------------

    def snapshot(self) -> SourcePosition:
        """SourcePosition of the current state from cheap scans, without reading the objects.

        Take it before a full read: whatever changes during the read is reported again by the
        next ``changes`` (at-least-once), nothing is missed.
        """
        versions = {kind: catalog_versions(self.client, self.queries[kind]) for kind in VERSIONED_KINDS}
        versions.update((kind, register_hashes(self.client, self.queries[kind])) for kind in HASHED_KINDS)
        versions["legal_entities"] = {entity.ref: object_hash(entity) for entity in self.legal_entities()}
        return {"odata": versions}

    def changes(self, bookmark: SourcePosition, *, acknowledge: bool = True) -> ChangeSet:
        """Everything changed since ``bookmark`` (``{}``: everything); never partial. Scans keep no
        state in 1C, so there is nothing to acknowledge."""
        last = bookmark.get("odata", {})
        deltas = {"legal_entities": self._legal_entity_delta(last.get("legal_entities", {}))}
        for kind in VERSIONED_KINDS:
            deltas[kind] = catalog_delta(self.client, self.queries[kind], last.get(kind, {})).mapped(self._converter(kind))
        for kind in HASHED_KINDS:
            deltas[kind] = snapshot_delta(self.client, self.queries[kind], last.get(kind, {})).mapped(self._converter(kind))
        return ChangeSet(
            bookmark={"odata": {kind: delta.versions for kind, delta in deltas.items()}},
            upserts={kind: delta.changed for kind, delta in deltas.items()},
            deletions={kind: delta.deleted for kind, delta in deltas.items()},
            complete=True,
        )

    def _legal_entity_delta(self, last: Mapping[str, str]) -> Delta:
        """Organisations are few and their КПП lives in another catalog: re-read and hash them."""
        entities = list(self.legal_entities())
        hashes = {entity.ref: object_hash(entity) for entity in entities}
        changed = tuple(entity for entity in entities if last.get(entity.ref) != hashes[entity.ref])
        return Delta(hashes, changed, tuple(ref for ref in last if ref not in hashes))

    def _converter(self, kind: str) -> Callable[[Row], Record | None]:
        if kind == "persons":
            kinds = self.contact_kinds()
            return lambda row: normalize.person(row, kinds)
        return {"departments": normalize.department, "positions": normalize.position,
                "employees": normalize.employee, "employments": normalize.employment_state}[kind]

    # -- vacations and requests ------------------------------------------------------------

    def employments_of(self, person_ref: str) -> list[EmploymentState]:
        condition = f"ФизическоеЛицо_Key eq guid'{_guid(person_ref)}'"
        return [normalize.employment_state(row)
                for row in self.client.page(_filtered(self.queries["employments"], condition))]

    def vacation_balance(self, employee_ref: str, on_date: dt.date) -> VacationBalance:
        """Assembled from АналитикаОстатковОтпусков, ФактическиеОтпуска and the HR state (onec.vacation)."""
        condition = f"Сотрудник_Key eq guid'{_guid(employee_ref)}'"
        rows = {name: self.client.page(_filtered(self.queries[name], condition))
                for name in ("employments", "vacation_remains", "vacations_taken")}
        state = normalize.employment_state(rows["employments"][0]) if rows["employments"] else None
        kinds = vacation_kinds(self.client.page(self.queries["vacation_kinds"]))
        return vacation_balance(_guid(employee_ref), on_date, state, rows["vacation_remains"],
                                rows["vacations_taken"], kinds)

    def main_vacation_kind(self) -> str:
        """The kind marked ОсновнойОтпуск in Catalog_ВидыОтпусков (the standard interface fills nothing)."""
        kinds = vacation_kinds(self.client.page(self.queries["vacation_kinds"]))
        main = sorted(kind.ref for kind in kinds.values() if kind.main)
        if not main:
            raise OneCConfigError("в справочнике «Виды отпусков» 1С:ЗУП нет основного отпуска")
        return main[0]

    def write_document(self, kind: str, entity_set: str, fields: Mapping[str, Any], key: str) -> RequestRef:
        """POST once, after looking for the document an earlier attempt wrote (its Комментарий holds ``key``)."""
        found = self.client.page(EntityQuery(entity_set, ("Ref_Key", "Number"), "Ref_Key", filter=(
            f"substringof('{key.replace(chr(39), chr(39) * 2)}', {COMMENT_FIELD}) and DeletionMark eq false")), top=1)
        row = found[0] if found else self.client.post(entity_set, entity_set, dict(fields))
        return RequestRef(kind=kind, ref=normalize.required_ref(row.get("Ref_Key")),
                          number=normalize.text(row.get("Number")))

    def request_status(self, request: RequestRef) -> RequestStatus:
        """Posted by HR (a statement: Выполнена): agreed; marked for deletion: rejected, with what HR wrote
        into Комментарий (and a statement's ОтветПоЗаявке)."""
        ref = _guid(request.ref)
        statements = unposted_sets(self.request_documents)
        for entity_set in self._sets_of(request.kind):
            statement = entity_set in statements
            try:
                row = self.client.get(entity_set, f"{entity_set}(guid'{ref}')", {
                    "$select": ",".join(("Ref_Key", "Number", *state_fields(statement)))})
            except ODataNotFound:
                continue
            status, comment = document_state(row, statement)
            return RequestStatus(ref=request.ref, number=normalize.text(row.get("Number")), status=status,
                                 comment=comment)
        raise OneCConfigError(f"документ {request.ref} не найден в 1С:ЗУП")

    def documents_of(self, person_ref: str, employee_refs: Sequence[str], limit: int = 20) -> list[PersonDocument]:
        """The newest request documents of every kind for the person: one request per kind."""
        person, statements, found = _guid(person_ref), unposted_sets(self.request_documents), []
        employees = [_guid(ref) for ref in employee_refs]
        for kind in TARGETS:
            entity_set = target_for(kind, self.request_documents).entity_set
            statement = entity_set in statements
            query = EntityQuery(entity_set, ("Ref_Key", "Number", "Date", *state_fields(statement)), "Date desc",
                                filter=person_filter(kind, person, employees))
            found += [person_document(kind, row, statement) for row in self.client.page(query, top=limit)]
        return newest(found, limit)

    def _sets_of(self, kind: str) -> list[str]:
        """The set of a known kind first, then every set the connector writes (a stored ref has no kind)."""
        written = written_sets(self.request_documents)
        first = [target_for(kind, self.request_documents).entity_set] if kind in TARGETS else []
        return list(dict.fromkeys([*first, *written]))

    def request_document(self, request: RequestRef) -> RequestDocument:
        """The standard OData interface has no printed forms: only the SOAP mode delivers files."""
        raise OneCConfigError(
            "Файлы справок доступны только через веб-сервис b24sync (mode: soap); "
            "стандартный интерфейс OData печатные формы не отдаёт"
        )


def _filtered(query: EntityQuery, condition: str) -> EntityQuery:
    return EntityQuery(query.entity_set, query.select, query.orderby, query.key, condition)


def _guid(value: str) -> str:
    try:
        return normalize.required_ref(value, "employee_ref")
    except OneCError:
        raise OneCConfigError("ожидался GUID ссылки 1С") from None
