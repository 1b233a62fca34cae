"""Names of ZUP 3.1 metadata objects the emulator publishes, as the configuration declares them.

Source: Configuration.xml (ChildObjects) and the objects' own XML of a public «dump to files» of
1C:Зарплата и управление персоналом КОРП 3.1 (GitHub scriperirkth/zup-structure). A set the
emulator publishes must name one of these objects (tests/emulator_onec/test_real_names.py), so
the emulator never accepts a name a real ZUP would not have.
"""
from __future__ import annotations

REAL_OBJECTS = frozenset({
    "Catalog.Организации", "Catalog.РегистрацииВНалоговомОргане", "Catalog.ПодразделенияОрганизаций",
    "Catalog.Должности", "Catalog.ФизическиеЛица", "Catalog.ВидыКонтактнойИнформации", "Catalog.Сотрудники",
    "Catalog.ВидыОтпусков", "Catalog.ВидыСправок", "Catalog.ВидыИспользованияРабочегоВремени",
    "InformationRegister.ТекущиеКадровыеДанныеСотрудников", "InformationRegister.КадроваяИсторияСотрудников",
    "InformationRegister.ЗаработанныеПраваНаОтпуска", "InformationRegister.АналитикаОстатковОтпусков",
    "AccumulationRegister.ФактическиеОтпуска",
    "Document.Отпуск", "Document.ПереносОтпуска", "Document.ГрафикОтпусков", "Document.БольничныйЛист",
    "Document.Увольнение", "Document.Командировка", "Document.ЗаявлениеНаПредоставлениеСтандартныхВычетовПоНДФЛ",
    "Document.ЗаявлениеОСпособеВыплатыЗарплатыКабинетСотрудника",
    "Document.ЗаявлениеВПроизвольнойФормеКабинетСотрудника", "Document.СправкаНДФЛ",
    "Document.ИсходящаяСправкаОЗаработкеДляРасчетаПособий", "Document.ТабельУчетаРабочегоВремени",
    "Document.ЗаявкаНаОтпуск", "Document.ЗаявкаНаКомандировку", "Document.ЗапросСправки2НДФЛСотрудником",
    "Document.ЗапросСправкиСотрудником", "Document.СообщениеОбОтсутствии", "Document.ОтменаЗаявкиНаОтпуск",
})


def metadata_name(entity_set: str) -> str:
    """OData entity set -> metadata object: `Document_Отпуск` -> `Document.Отпуск` (the `_RecordType` of
    a recorder-subordinate register names the register itself)."""
    kind, _, name = entity_set.removesuffix("_RecordType").partition("_")
    return f"{kind}.{name}"
