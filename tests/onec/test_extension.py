"""The B24Sync extension shipped as a Designer dump declares exactly the contract of the WSDL."""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

from onec.soap import WSDL_PATH

EXTENSION = Path(__file__).resolve().parents[2] / "onec" / "extension"
MD = {"md": "http://v8.1c.ru/8.3/MDClasses"}
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


def test_the_change_feed_subscription_calls_an_exported_handler_of_the_module() -> None:
    subscription = etree.parse(str(EXTENSION / "EventSubscriptions" / "b24sync_РегистрацияИзменений.xml"))
    handler = subscription.findtext(".//md:Handler", namespaces=MD)
    module_name, procedure = handler.removeprefix("CommonModule.").split(".")
    module = (EXTENSION / "CommonModules" / module_name / "Ext" / "Module.bsl").read_text(encoding="utf-8")
    assert re.search(rf"^Процедура {procedure}\(Источник, Отказ\) Экспорт", module, re.MULTILINE)
    configuration = (EXTENSION / "Configuration.xml").read_text(encoding="utf-8")
    for kind, name in (("CommonModule", module_name), ("EventSubscription", "b24sync_РегистрацияИзменений"),
                       ("WebService", "b24sync_B24Sync"), ("InformationRegister", "b24sync_ОчередьИзменений")):
        assert f"<{kind}>{name}</{kind}>" in configuration
