"""Representations of the standard interface: JSON (minimal/no metadata), Atom, EDMX, errors."""
from __future__ import annotations

import json
from typing import Any, Iterable
from xml.sax.saxutils import escape, quoteattr

from .schema import EntitySet, Prop

Row = tuple
M_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"
D_NS = "http://schemas.microsoft.com/ado/2007/08/dataservices"


def entity_path(definition: EntitySet, row: Row) -> str:
    """`Catalog_X(guid'…')` or the key-predicate form for registers and rows."""
    if definition.key == ("Ref_Key",):
        return f"{definition.name}(guid'{row[definition.index('Ref_Key')]}')"
    parts = []
    for name in definition.key:
        prop, value = definition.by_name[name], row[definition.index(name)]
        literal = {"Edm.Guid": f"guid'{value}'", "Edm.DateTime": f"datetime'{value}'",
                   "Edm.Int64": str(value)}.get(prop.edm, "'" + str(value).replace("'", "''") + "'")
        parts.append(f"{name}={literal}")
    return f"{definition.name}({','.join(parts)})"


class JsonRenderer:
    """Rows -> JSON-light objects with navigation-link annotations (1C DG «JSON format»), in hash
    order as in the captured replies."""

    def __init__(self, definition: EntitySet, select: list[str] | None, links: bool) -> None:
        self.definition = definition
        names = [n for n in definition.hash_order if select is None or n in select]
        self.columns = [(name, definition.index(name), definition.by_name[name]) for name in names]
        self.links = links and definition.key == ("Ref_Key",)
        self.ref_at = definition.index("Ref_Key") if "Ref_Key" in definition.position else -1

    def __call__(self, row: Row) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for name, at, prop in self.columns:
            value = row[at]
            if prop.rows:
                value = [self.table_row(prop, row[self.ref_at], part) for part in value]
            item[name] = value
            if self.links and prop.nav and prop.ref and value != "00000000-0000-0000-0000-000000000000":
                # [not in the docs: the captured replies carry no link for an empty reference]
                item[f"{prop.nav}@navigationLinkUrl"] = (
                    f"{self.definition.name}(guid'{row[self.ref_at]}')/{prop.nav}")
        return item

    @staticmethod
    def table_row(prop: Prop, owner: str, part: Row) -> dict[str, Any]:
        item = {"Ref_Key": owner}
        item.update(zip((p.name for p in prop.rows), part))
        return item


def json_collection(definition: EntitySet, rows: Iterable[Row], root: str, select: list[str] | None,
                    nometadata: bool, count: int | None) -> bytes:
    render = JsonRenderer(definition, select, links=not nometadata)
    envelope: dict[str, Any] = {} if nometadata else {"odata.metadata": f"{root}$metadata#{definition.name}"}
    if count is not None:
        # [not in the docs: a string, as OData 3.0 writes counts ([MS-ODATA], «InlineCount
        # Representation»)]
        envelope["odata.count"] = str(count)
    envelope["value"] = [render(row) for row in rows]
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def json_entity(definition: EntitySet, row: Row, root: str, select: list[str] | None, nometadata: bool) -> bytes:
    item = JsonRenderer(definition, select, links=not nometadata)(row)
    if not nometadata:
        item = {"odata.metadata": f"{root}$metadata#{definition.name}/@Element", **item}
    return json.dumps(item, ensure_ascii=False).encode()


def json_error(code: str, message: str) -> bytes:
    return json.dumps({"odata.error": {"code": code, "message": {"lang": "ru", "value": message}}},
                      ensure_ascii=False).encode()


def xml_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<m:error xmlns:m="{M_NS}"><m:code>{escape(code)}</m:code>'
            f'<m:message xml:lang="ru">{escape(message)}</m:message></m:error>').encode()


def _xml_value(prop: Prop, value: Any, owner: str) -> str:
    if prop.rows:
        rows = "".join(
            f'<d:element m:type="StandardODATA.{prop.name}_RowType">'
            + "".join(_xml_property(p, v, owner) for p, v in zip(prop.rows, part)) + "</d:element>"
            for part in value)
        return rows
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_property(prop: Prop, value: Any, owner: str) -> str:
    edm = f"Collection(StandardODATA.{prop.name}_RowType)" if prop.rows else prop.edm
    return f'<d:{prop.name} m:type="{edm}">{_xml_value(prop, value, owner)}</d:{prop.name}>'


def atom_entry(definition: EntitySet, row: Row, root: str, select: list[str] | None, top: bool = False) -> str:
    names = [n for n in definition.hash_order if select is None or n in select]
    owner = row[definition.index("Ref_Key")] if "Ref_Key" in definition.position else ""
    path = entity_path(definition, row)
    links = "".join(
        f'<link rel="{D_NS}/related/{p.nav}" type="application/atom+xml;type=entry" title="{p.nav}" '
        f'href={quoteattr(path + "/" + p.nav)}/>'
        for p in definition.props if p.nav and p.name in names and definition.key == ("Ref_Key",))
    properties = "".join(_xml_property(definition.by_name[n], row[definition.index(n)], owner) for n in names)
    namespaces = (f' xmlns="http://www.w3.org/2005/Atom" xmlns:d="{D_NS}" xmlns:m="{M_NS}" xml:base="{root}"'
                  if top else "")
    return (f"<entry{namespaces}><id>{escape(root + path)}</id>"
            f'<category term="StandardODATA.{definition.name}" '
            f'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"/>'
            f'<title type="text"/><updated>2026-01-01T00:00:00Z</updated><author/>{links}'
            f'<content type="application/xml"><m:properties>{properties}</m:properties></content></entry>')


def atom_feed(definition: EntitySet, rows: Iterable[Row], root: str, select: list[str] | None,
              count: int | None) -> bytes:
    counted = f"<m:count>{count}</m:count>" if count is not None else ""
    entries = "".join(atom_entry(definition, row, root, select) for row in rows)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            f'xmlns:d="{D_NS}" xmlns:m="{M_NS}" xml:base="{escape(root)}"><id>{escape(root + definition.name)}</id>'
            f'<title type="text">{definition.name}</title><updated>2026-01-01T00:00:00Z</updated>'
            f'<author/><link rel="self" href="{definition.name}" title="{definition.name}"/>'
            f"{counted}{entries}</feed>").encode()


def atom_single(definition: EntitySet, row: Row, root: str, select: list[str] | None) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            + atom_entry(definition, row, root, select, top=True)).encode()


def service_document(root: str, published: Iterable[str]) -> bytes:
    """An AtomPub workspace listing the published sets; with none published, the empty «Default»
    workspace of the 1C integration book (listing 1.122)."""
    collections = "".join(f'<collection href="{escape(name)}"><atom:title>{escape(name)}</atom:title></collection>'
                          for name in published)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<service xmlns="http://www.w3.org/2007/app" '
            f'xmlns:atom="http://www.w3.org/2005/Atom" xml:base="{escape(root.rstrip("/"))}">'
            f"<workspace><atom:title>Default</atom:title>{collections}</workspace></service>").encode()


def metadata(definitions: Iterable[EntitySet]) -> bytes:
    """EDMX v3 with namespace StandardODATA: entity types, row types, associations, container."""
    types, complex_types, associations, sets, association_sets = [], [], [], [], []
    definitions = list(definitions)
    names = {d.name for d in definitions}
    for definition in definitions:
        keys = "".join(f'<PropertyRef Name="{k}"/>' for k in definition.key)
        props, navs = [], []
        for prop in definition.props:
            if prop.rows:
                props.append(f'<Property Name="{prop.name}" Type="Collection(StandardODATA.{definition.name}_'
                             f'{prop.name}_RowType)" Nullable="false"/>')
                row_props = "".join(f'<Property Name="{p.name}" Type="{p.edm}" Nullable="true"/>'
                                    for p in (Prop("Ref_Key", "Edm.Guid"),) + prop.rows)
                complex_types.append(f'<ComplexType Name="{definition.name}_{prop.name}_RowType">{row_props}'
                                     "</ComplexType>")
                continue
            props.append(f'<Property Name="{prop.name}" Type="{prop.edm}" Nullable="true"/>')
            if prop.nav and prop.ref in names and definition.key == ("Ref_Key",):
                association = f"{definition.name}_{prop.nav}"
                navs.append(f'<NavigationProperty Name="{prop.nav}" Relationship="StandardODATA.{association}" '
                            f'FromRole="Begin" ToRole="End"/>')
                associations.append(
                    f'<Association Name="{association}"><End Role="Begin" Type="StandardODATA.{definition.name}" '
                    f'Multiplicity="*"/><End Role="End" Type="StandardODATA.{prop.ref}" Multiplicity="0..1"/>'
                    "</Association>")
                association_sets.append(
                    f'<AssociationSet Name="{association}" Association="StandardODATA.{association}">'
                    f'<End Role="Begin" EntitySet="{definition.name}"/><End Role="End" EntitySet="{prop.ref}"/>'
                    "</AssociationSet>")
        types.append(f'<EntityType Name="{definition.name}"><Key>{keys}</Key>{"".join(props)}{"".join(navs)}'
                     "</EntityType>")
        sets.append(f'<EntitySet Name="{definition.name}" EntityType="StandardODATA.{definition.name}"/>')
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/'
            '2007/06/edmx" Version="1.0"><edmx:DataServices xmlns:m="' + M_NS + '" m:DataServiceVersion="3.0">'
            '<Schema xmlns="http://schemas.microsoft.com/ado/2009/11/edm" Namespace="StandardODATA">'
            + "".join(types) + "".join(complex_types) + "".join(associations)
            + '<EntityContainer Name="StandardODATA" m:IsDefaultEntityContainer="true">'
            + "".join(sets) + "".join(association_sets) + "</EntityContainer></Schema></edmx:DataServices>"
            "</edmx:Edmx>").encode()

