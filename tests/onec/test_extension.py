"""The B24Sync extension shipped as a Designer dump declares exactly the contract of the WSDL."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from onec.soap import ITEM_KINDS, WSDL_PATH

EXTENSION = Path(__file__).resolve().parents[2] / "onec" / "extension"
DOCS = Path(__file__).resolve().parents[2] / "docs"
MD = {"md": "http://v8.1c.ru/8.3/MDClasses"}
V8 = "http://v8.1c.ru/8.1/data/core"
WSDL = {"w": "http://schemas.xmlsoap.org/wsdl/", "xs": "http://www.w3.org/2001/XMLSchema"}
XS = "{http://www.w3.org/2001/XMLSchema}element"


def wsdl_operations() -> dict[str, tuple[list[tuple[str, str]], str]]:
    """Operation -> ([(parameter, type)], return type) as the WSDL declares them."""
    tree = etree.parse(str(WSDL_PATH))
    schema = tree.find(".//xs:schema", WSDL)

    def children(name: str) -> list[etree._Element]:
        element = schema.find(f"xs:element[@name='{name}']", WSDL)
        return [e for e in element.iter(XS) if e is not element]
    return {op.get("name"): ([(e.get("name"), e.get("type")) for e in children(op.get("name"))],
                             children(f"{op.get('name')}Response")[0].get("type"))
            for op in tree.findall(".//w:portType/w:operation", WSDL)}


def extension_operations() -> dict[str, tuple[list[tuple[str, str]], str]]:
    service = etree.parse(str(EXTENSION / "WebServices" / "b24sync_B24Sync.xml"))
    return {op.findtext("md:Properties/md:Name", namespaces=MD): (
        [(p.findtext("md:Properties/md:Name", namespaces=MD), p.findtext("md:Properties/md:XDTOValueType",
                                                                          namespaces=MD))
         for p in op.findall("md:ChildObjects/md:Parameter", MD)],
        op.findtext("md:Properties/md:XDTOReturningValueType", namespaces=MD))
        for op in service.findall(".//md:Operation", MD)}


def test_every_file_of_the_extension_parses_as_xml() -> None:
    files = sorted(EXTENSION.rglob("*.xml"))
    assert len(files) >= 6
    for path in files:
        etree.parse(str(path))


def test_the_extension_is_a_customization_extension_with_a_name_prefix() -> None:
    configuration = etree.parse(str(EXTENSION / "Configuration.xml")).find("md:Configuration/md:Properties", MD)
    assert configuration.findtext("md:ConfigurationExtensionPurpose", namespaces=MD) == "Customization"
    assert configuration.findtext("md:NamePrefix", namespaces=MD) == "b24sync_"
    language = etree.parse(str(EXTENSION / "Languages" / "Русский.xml"))
    assert language.findtext(".//md:ObjectBelonging", namespaces=MD) == "Adopted"


def test_web_service_operations_and_types_are_the_wsdl_ones() -> None:
    assert extension_operations() == wsdl_operations()
    service = etree.parse(str(EXTENSION / "WebServices" / "b24sync_B24Sync.xml"))
    namespace = service.findtext(".//md:WebService/md:Properties/md:Namespace", namespaces=MD)
    assert namespace == etree.parse(str(WSDL_PATH)).getroot().get("targetNamespace")


def test_the_service_module_declares_a_function_per_operation_with_its_parameters() -> None:
    module = (EXTENSION / "WebServices" / "b24sync_B24Sync" / "Ext" / "Module.bsl").read_text(encoding="utf-8")
    declared = {name: [p.strip() for p in params.split(",") if p.strip()]
                for name, params in re.findall(r"^Функция (\w+)\(([^)]*)\)", module, re.MULTILINE)}
    assert declared == {op: [name for name, _ in params] for op, (params, _) in wsdl_operations().items()}


HANDLER_PARAMETERS = {"CatalogObject": "Источник, Отказ", "InformationRegisterRecordSet": "Источник, Отказ, Замещение"}
FOLDERS = {"Catalog": "Catalogs", "InformationRegister": "InformationRegisters", "CommonModule": "CommonModules",
           "EventSubscription": "EventSubscriptions", "WebService": "WebServices", "Language": "Languages"}
MODULE = EXTENSION / "CommonModules" / "b24sync_Обмен" / "Ext" / "Module.bsl"


def subscriptions() -> list[etree._ElementTree]:
    return [etree.parse(str(path)) for path in sorted((EXTENSION / "EventSubscriptions").glob("*.xml"))]


def test_every_change_feed_subscription_calls_an_exported_handler_with_the_event_parameters() -> None:
    assert len(subscriptions()) == 2
    for subscription in subscriptions():
        handler = subscription.findtext(".//md:Handler", namespaces=MD)
        module_name, procedure = handler.removeprefix("CommonModule.").split(".")
        module = (EXTENSION / "CommonModules" / module_name / "Ext" / "Module.bsl").read_text(encoding="utf-8")
        kinds = {source.text.removeprefix("cfg:").split(".")[0]
                 for source in subscription.iterfind(".//md:Source/v8:Type", {**MD, "v8": V8})}
        [kind] = kinds  # one kind of source per subscription: one handler signature
        assert re.search(rf"^Процедура {procedure}\({HANDLER_PARAMETERS[kind]}\) Экспорт", module, re.MULTILINE)


def test_subscription_sources_are_objects_adopted_from_zup() -> None:
    configuration = (EXTENSION / "Configuration.xml").read_text(encoding="utf-8")
    for subscription in subscriptions():
        for source in subscription.iterfind(".//md:Source/v8:Type", {**MD, "v8": V8}):
            generated, name = source.text.removeprefix("cfg:").split(".")
            kind = "Catalog" if generated == "CatalogObject" else "InformationRegister"
            adopted = etree.parse(str(EXTENSION / FOLDERS[kind] / f"{name}.xml")).find(f"md:{kind}/md:Properties", MD)
            assert adopted.findtext("md:ObjectBelonging", namespaces=MD) == "Adopted"
            assert re.fullmatch(r"[0-9a-f-]{36}", adopted.findtext("md:ExtendedConfigurationObject", namespaces=MD))
            assert f"<{kind}>{name}</{kind}>" in configuration


def test_the_configuration_lists_exactly_the_objects_of_the_tree() -> None:
    listed = {(child.tag.split("}")[1], child.text) for child in
              etree.parse(str(EXTENSION / "Configuration.xml")).find("md:Configuration/md:ChildObjects", MD)}
    on_disk = {(kind, path.stem) for kind, folder in FOLDERS.items() for path in (EXTENSION / folder).glob("*.xml")}
    assert listed == on_disk


def test_the_feed_produces_the_contract_item_types_and_data_fields() -> None:
    module = MODULE.read_text(encoding="utf-8")
    catalogs = module.split("Функция СправочникиЛенты()", 1)[1].split("КонецФункции", 1)[0]
    fields = module.split("Функция ПоляЛенты()", 1)[1].split("КонецФункции", 1)[0]
    assert set(re.findall(r'Имена\.Вставить\("(\w+)"', catalogs)) | {"hr_state"} == set(ITEM_KINDS)
    assert set(re.findall(r'Поля\.Вставить\("(\w+)"', fields)) == set(ITEM_KINDS)
    assert 'ПоставитьВОчередь("hr_state"' in module
    feed = (DOCS / "onec-extension.md").read_text(encoding="utf-8").split("### Feed items", 1)[1].split("\n## ", 1)[0]
    for row in (line for line in feed.splitlines() if line.startswith("| `")):
        item_type, _, fields = (cell.strip() for cell in row.strip("|").split("|"))
        assert item_type.strip("`") in ITEM_KINDS
        for name in re.findall(r"`([^`]+)`", fields):
            assert name.removesuffix("_Key") in module, f"{item_type}: {name} is not written by the extension"
