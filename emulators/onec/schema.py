"""Entity sets of the emulated ZUP 3.1 standard OData interface: objects and attributes named as
in the ZUP dumps (emulators/onec/zup31.py, docs/onec-extension.md), properties as 1C DG «Data
presentation» publishes them (sources: emulators/onec/__init__.py).

Each set is declared once; the store, the query engine, the JSON/Atom renderers and
`$metadata` all read these declarations.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date

# [not in the docs: the empty reference and the empty date as the captured replies carry them]
EMPTY_GUID = "00000000-0000-0000-0000-000000000000"
EMPTY_DATE = "0001-01-01T00:00:00"
AS_OF = date(2026, 11, 1)  # the emulated infobase's "today": generated data never reads the wall clock

GUID, STRING, DATE, BOOL, INT64, INT32, DOUBLE = (
    "Edm.Guid", "Edm.String", "Edm.DateTime", "Edm.Boolean", "Edm.Int64", "Edm.Int32", "Edm.Double",
)


@dataclass(frozen=True)
class Prop:
    """One published property; `ref` names the target set of a reference attribute."""

    name: str
    edm: str
    ref: str = ""
    fixed: int = 0  # fixed-length string: right-padded to this many characters
    rows: tuple[Prop, ...] = ()  # tabular part columns
    enum: bool = False
    required: bool = False  # FillChecking = ShowError: posting refuses the object while it is empty

    @property
    def nav(self) -> str:
        return self.name[:-4] if self.ref else ""

    @property
    def is_table(self) -> bool:
        return bool(self.rows)

    def empty(self) -> object:
        """The value 1C returns for an unset attribute of this type."""
        return {GUID: EMPTY_GUID, DATE: EMPTY_DATE, BOOL: False, INT64: "0", INT32: 0,
                DOUBLE: 0}.get(self.edm, " " * self.fixed if self.fixed else "") if not self.rows else ()


@dataclass(frozen=True)
class EntitySet:
    """A published set: kind is catalog, document, register (independent) or recordtype."""

    name: str
    kind: str
    props: tuple[Prop, ...]
    key: tuple[str, ...]
    auto_order: tuple[str, ...] = ()
    tracked: str = ""  # GetChanges item type when writes to the set are tracked
    periodic: bool = False
    postable: bool = True  # a document with Posting = Deny is never posted (its state lives in attributes)
    columns: tuple[str, ...] = field(init=False)
    by_name: dict[str, Prop] = field(init=False)
    hash_order: tuple[str, ...] = field(init=False)
    position: dict[str, int] = field(init=False)
    defaults: tuple[object, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(p.name for p in self.props))
        object.__setattr__(self, "by_name", {p.name: p for p in self.props})
        object.__setattr__(self, "position", {p.name: i for i, p in enumerate(self.props)})
        object.__setattr__(self, "defaults", tuple(p.empty() for p in self.props))
        # [not in the docs: property order is not guaranteed; single entities in the captured
        # replies are hash-ordered]
        order = sorted(self.columns, key=lambda n: zlib.crc32(f"{self.name}.{n}".encode()))
        object.__setattr__(self, "hash_order", tuple(order))

    def index(self, name: str) -> int:
        return self.position[name]

    @property
    def is_object(self) -> bool:
        return self.kind in ("catalog", "document")


def g(name: str, target: str) -> Prop:
    """A reference attribute exposed as `<name>` (Edm.Guid) plus navigation property."""
    return Prop(name, GUID, ref=target)


def s(name: str, fixed: int = 0) -> Prop:
    return Prop(name, STRING, fixed=fixed)


def d(name: str) -> Prop:
    return Prop(name, DATE)


def b(name: str) -> Prop:
    return Prop(name, BOOL)


def n(name: str) -> Prop:
    return Prop(name, DOUBLE)


def e(name: str) -> Prop:
    return Prop(name, STRING, enum=True)


def req(prop: Prop) -> Prop:
    """The same attribute with FillChecking = ShowError (checked when the document is posted)."""
    return Prop(prop.name, prop.edm, prop.ref, prop.fixed, prop.rows, prop.enum, required=True)


def tab(name: str, *rows: Prop) -> Prop:
    return Prop(name, "Collection", rows=(Prop("LineNumber", INT64),) + rows)


PERSONS = "Catalog_ФизическиеЛица"
EMPLOYEES = "Catalog_Сотрудники"
ORGS = "Catalog_Организации"
TAX_REGS = "Catalog_РегистрацииВНалоговомОргане"
DEPARTMENTS = "Catalog_ПодразделенияОрганизаций"
POSITIONS = "Catalog_Должности"
CONTACT_KINDS = "Catalog_ВидыКонтактнойИнформации"
VACATION_KINDS = "Catalog_ВидыОтпусков"
CERT_KINDS = "Catalog_ВидыСправок"
TIME_KINDS = "Catalog_ВидыИспользованияРабочегоВремени"
HR_CURRENT = "InformationRegister_ТекущиеКадровыеДанныеСотрудников"
HR_HISTORY = "InformationRegister_КадроваяИсторияСотрудников_RecordType"
VACATIONS_USED = "AccumulationRegister_ФактическиеОтпуска_RecordType"
VACATION_RIGHTS = "InformationRegister_ЗаработанныеПраваНаОтпуска"
VACATION_BALANCES = "InformationRegister_АналитикаОстатковОтпусков"
CONTACTS_TABLE = "Catalog_ФизическиеЛица_КонтактнаяИнформация"

CATALOG_HEAD = (Prop("Ref_Key", GUID), s("DataVersion"), b("DeletionMark"))
CATALOG_TAIL = (b("Predefined"), s("PredefinedDataName"))
DOCUMENT_HEAD = (Prop("Ref_Key", GUID), s("DataVersion"), b("DeletionMark"), s("Number"), d("Date"),
                 b("Posted"))
CODE = s("Code")
DESCRIPTION = s("Description")
ADDITIONAL = tab("ДополнительныеРеквизиты", g("Свойство_Key", ""), s("Значение"), s("ТекстоваяСтрока"))

CONTACT_ROWS = (
    e("Тип"), g("Вид_Key", CONTACT_KINDS), s("Представление"), s("Значение"), s("ЗначенияПолей"),
    s("Страна"), s("Регион"), s("Город"), s("АдресЭП"), s("ДоменноеИмяСервера"), s("НомерТелефона"),
    s("НомерТелефонаБезКодов"), g("ВидДляСписка_Key", CONTACT_KINDS),
)


def catalog(name: str, *props: Prop, code: bool = True, tracked: str = "",
            owner: str = "", folders: bool = False, hierarchy: bool = False) -> EntitySet:
    """A catalog set; `code=False` models CodeLength 0 (as Catalogs/Должности.xml of
    scriperirkth/zup-structure declares), published without a Code property [inferred]."""
    head = list(CATALOG_HEAD)
    if owner:
        head.append(g("Owner_Key", owner))
    if folders or hierarchy:
        head.append(g("Parent_Key", name))
    if folders:
        head.append(b("IsFolder"))
    if code:
        head.append(CODE)
    head.append(DESCRIPTION)
    order = ("Description", "Code") if code else ("Description",)
    return EntitySet(name, "catalog", tuple(head) + props + CATALOG_TAIL, ("Ref_Key",), order, tracked)


def document(name: str, *props: Prop, postable: bool = True) -> EntitySet:
    return EntitySet(name, "document", DOCUMENT_HEAD + props, ("Ref_Key",), ("Date", "Number"), postable=postable)


def recordtype(name: str, dims: tuple[Prop, ...], *props: Prop, periodic: bool = True) -> EntitySet:
    """Flat rows of a recorder-subordinate register (`<Register>_RecordType`, 1C DG «Resource name
    generation rules»)."""
    head = (s("Recorder"), s("Recorder_Type")) + ((d("Period"),) if periodic else ()) + (
        Prop("LineNumber", INT64), b("Active"))
    return EntitySet(name, "recordtype", head + dims + props, ("Recorder", "LineNumber"),
                     ("Period",) if periodic else (), periodic=periodic)


def register(name: str, dims: tuple[Prop, ...], *props: Prop, periodic: bool = False,
             tracked: str = "") -> EntitySet:
    """An independent information register; the key is Period (when periodic) + dimensions."""
    head = (d("Period"),) if periodic else ()
    key = tuple(p.name for p in head + dims)
    return EntitySet(name, "register", head + dims + props, key, key, tracked, periodic)


ORGANIZATION = req(g("Организация_Key", ORGS))
EMPLOYEE = req(g("Сотрудник_Key", EMPLOYEES))
PERSON = g("ФизическоеЛицо_Key", PERSONS)
COMMENT = s("Комментарий")
RESPONSIBLE = g("Ответственный_Key", "")
STATEMENT_HEAD = (s("ИдентификаторЗаявки"), d("ДатаСоздания"), e("ТипЗаявки"), s("ОтветПоЗаявке"),
                  g("Организация_Key", ORGS), g("Сотрудник_Key", EMPLOYEES), PERSON, s("КомментарийСотрудника"))
STATEMENT_TAIL = (d("СрокИсполнения"), e("РезультатВыполнения"), b("Выполнена"), d("ДатаИсполнения"),
                  g("Исполнитель_Key", ""), COMMENT)
# The documents employee requests become, named as in ZUP 3.1's Configuration.xml
# (docs/onec-extension.md, section 6).
REQUEST_TARGETS = (
    document("Document_ПереносОтпуска", ORGANIZATION, EMPLOYEE, PERSON, req(g("ВидОтпуска_Key", VACATION_KINDS)),
             req(d("ИсходнаяДатаНачала")), b("ПереносПоИнициативеСотрудника"), s("ПричинаПереноса"),
             g("Руководитель_Key", PERSONS), g("ДолжностьРуководителя_Key", POSITIONS), RESPONSIBLE, COMMENT,
             tab("Переносы", req(d("ДатаНачала")), req(d("ДатаОкончания")), n("КоличествоДней"))),
    document("Document_БольничныйЛист", ORGANIZATION, EMPLOYEE, PERSON, req(d("ДатаНачала")), req(d("ДатаОкончания")),
             s("НомерЛисткаНетрудоспособности"), e("ПричинаНетрудоспособности"), RESPONSIBLE, COMMENT),
    document("Document_Увольнение", ORGANIZATION, EMPLOYEE, PERSON, req(d("ДатаУвольнения")),
             g("ОснованиеУвольнения_Key", ""), b("КомпенсироватьОтпуск"), RESPONSIBLE, COMMENT),
    document("Document_Командировка", ORGANIZATION, EMPLOYEE, PERSON, req(d("ДатаНачала")), req(d("ДатаОкончания")),
             RESPONSIBLE, COMMENT),
    # Documents/ЗаявлениеНаПредоставлениеСтандартныхВычетовПоНДФЛ.xml: the person is its «Сотрудник»
    # (CatalogRef.ФизическиеЛица), the month of registration its «Месяц»
    document("Document_ЗаявлениеНаПредоставлениеСтандартныхВычетовПоНДФЛ", req(d("Месяц")), ORGANIZATION,
             req(g("Сотрудник_Key", PERSONS)), g("КодВычетаЛичный_Key", ""), b("ИзменитьВычетыНаДетей"),
             b("ИзменитьЛичныйВычет"), RESPONSIBLE, COMMENT, s("ДокументПодтверждающийПравоНаЛичныйВычет")),
    # Documents/Заявление…КабинетСотрудника.xml: Posting = Deny; HR executes them (Выполнена) and answers in
    # ОтветПоЗаявке
    document("Document_ЗаявлениеОСпособеВыплатыЗарплатыКабинетСотрудника", *STATEMENT_HEAD, s("НаименованиеБанка"),
             s("БИК"), s("НомерСчета"), g("БанковскийСчет_Key", ""), *STATEMENT_TAIL, postable=False),
    document("Document_ЗаявлениеВПроизвольнойФормеКабинетСотрудника", *STATEMENT_HEAD, s("ТекстЗаявления"),
             *STATEMENT_TAIL, g("ШаблонДокумента_Key", ""), postable=False),
    document("Document_СправкаНДФЛ", ORGANIZATION, req(PERSON), req(n("НалоговыйПериод")), RESPONSIBLE, COMMENT),
    # Documents/ИсходящаяСправкаОЗаработкеДляРасчетаПособий.xml: ГодС, ГодПо, Фамилия, Имя are ShowError there;
    # HR fills the name from the employee with «Заполнить», so only the years are required of a client here
    document("Document_ИсходящаяСправкаОЗаработкеДляРасчетаПособий", ORGANIZATION, EMPLOYEE, PERSON,
             req(n("ГодС")), req(n("ГодПо")), s("Фамилия"), s("Имя"), s("Отчество"), RESPONSIBLE, COMMENT),
    document("Document_ГрафикОтпусков", ORGANIZATION, s("КраткийСоставДокумента"), d("ДатаСобытия"),
             g("Руководитель_Key", PERSONS), RESPONSIBLE, COMMENT, g("СборГрафиковОтпусков_Key", ""),
             tab("Сотрудники", req(g("Сотрудник_Key", EMPLOYEES)), PERSON, req(g("ВидОтпуска_Key", VACATION_KINDS)),
                 req(d("ДатаНачала")), req(d("ДатаОкончания")), n("КоличествоДней"), s("Примечание"))),
    document("Document_ТабельУчетаРабочегоВремени", ORGANIZATION, req(g("Подразделение_Key", DEPARTMENTS)),
             req(d("ПериодРегистрации")), req(d("ДатаНачалаПериода")), req(d("ДатаОкончанияПериода")), RESPONSIBLE,
             COMMENT, tab("ДанныеОВремени", req(g("Сотрудник_Key", EMPLOYEES)),
                          *(g(f"ВидВремени{day}_Key", TIME_KINDS) for day in range(1, 32)),
                          *(n(f"Часов{day}") for day in range(1, 32)))),
)

REQUEST_HEAD = (g("ФизическоеЛицо_Key", PERSONS), g("Сотрудник_Key", EMPLOYEES), g("Организация_Key", ORGS),
                g("Ответственный_Key", ""), s("Комментарий"))
STATUS_FIELDS = (e("Статус"), g("Рассмотрел_Key", ""), d("ДатаРассмотрения"))


def build_sets() -> dict[str, EntitySet]:
    """All sets the emulator can publish, by name."""
    sets = [
        catalog(ORGS, s("НаименованиеПолное"), s("НаименованиеСокращенное"), s("ИНН", fixed=12),
                s("ОГРН"), s("Префикс", fixed=3), g("ГоловнаяОрганизация_Key", ORGS),
                b("ОбособленноеПодразделение"), e("ЮридическоеФизическоеЛицо"),
                g("РегистрацияВНалоговомОргане_Key", TAX_REGS), s("КодПоОКПО"), s("КодОКВЭД2"),
                code=False, tracked="organization"),
        catalog(TAX_REGS, s("КПП"), s("КодПоОКТМО"), s("КодПоОКАТО"), s("НаименованиеИФНС"),
                s("КодНалоговогоОргана"), owner=ORGS),
        catalog(DEPARTMENTS, g("ГоловнаяОрганизация_Key", ORGS), b("Сформировано"), d("ДатаСоздания"),
                b("Расформировано"), d("ДатаРасформирования"), b("ОбособленноеПодразделение"),
                g("РегистрацияВНалоговомОргане_Key", TAX_REGS), s("КодОКВЭД2"),
                s("РеквизитДопУпорядочивания"), owner=ORGS, hierarchy=True, tracked="department"),
        catalog(POSITIONS, s("НаименованиеКраткое"), b("ВведенаВШтатноеРасписание"), d("ДатаВвода"),
                b("ИсключенаИзШтатногоРасписания"), d("ДатаИсключения"), s("ОКПДТРКод"),
                g("ТрудоваяФункция_Key", ""), code=False, tracked="position"),
        catalog(PERSONS, d("ДатаРождения"), e("Пол"), s("ИНН"), s("СтраховойНомерПФР"), s("МестоРождения"),
                s("ФИО"), s("Фамилия"), s("Имя"), s("Отчество"), s("Инициалы"), s("УточнениеНаименования"),
                d("ДатаРегистрации"), s("НаименованиеСлужебное"), g("ГруппаДоступа_Key", ""),
                g("Национальность_Key", ""), tab("КонтактнаяИнформация", *CONTACT_ROWS),
                folders=True, tracked="person"),
        catalog(CONTACT_KINDS, e("Тип"), b("Используется"), b("ЭтоГруппа"), s("Наименование"), code=False),
        catalog(EMPLOYEES, g("ФизическоеЛицо_Key", PERSONS), g("ГоловнаяОрганизация_Key", ORGS),
                g("ГоловнойСотрудник_Key", EMPLOYEES), b("ВАрхиве"), s("УточнениеНаименования"),
                n("ТекущийПроцентСевернойНадбавки"), b("СтудентРаботающийВСтудотряде"), ADDITIONAL,
                tab("УдалитьНаборыЗначенийДоступа", s("НаборЗначенийДоступа")), tracked="employee"),
        catalog(VACATION_KINDS, b("ОсновнойОтпуск"), b("ОтпускЯвляетсяЕжегодным"), n("КоличествоДнейВГод"),
                b("ОтпускБезОплаты"), code=False),
        catalog(CERT_KINDS, s("Представление"), code=False),
        catalog(TIME_KINDS, s("БуквенныйКод"), s("ЦифровойКод")),
        register(HR_CURRENT, (g("ФизическоеЛицо_Key", PERSONS), g("Сотрудник_Key", EMPLOYEES),
                              g("ГоловнаяОрганизация_Key", ORGS), g("ТекущаяОрганизация_Key", ORGS)),
                 g("ТекущееПодразделение_Key", DEPARTMENTS), g("ТекущаяДолжность_Key", POSITIONS),
                 d("ДатаПриема"), d("ДатаУвольнения"), e("ТекущийВидЗанятости"),
                 b("ОсновноеРабочееМестоВОрганизации"), b("ОформленПоТрудовомуДоговору"), n("КоличествоСтавок"),
                 g("УдалитьТекущаяДолжностьПоШтатномуРасписанию_Key", ""), e("УдалитьТекущийВидДоговора"),
                 g("УдалитьТекущаяТерритория_Key", ""), tracked="hr_state"),
        recordtype(HR_HISTORY, (g("Сотрудник_Key", EMPLOYEES), g("ГоловнаяОрганизация_Key", ORGS),
                                g("ФизическоеЛицо_Key", PERSONS)),
                   g("Организация_Key", ORGS), g("Подразделение_Key", DEPARTMENTS), g("Должность_Key", POSITIONS),
                   g("ДолжностьПоШтатномуРасписанию_Key", ""), e("ВидСобытия"),
                   g("ГоловнойСотрудник_Key", EMPLOYEES), e("ВидДоговора"), d("ДействуетДо"),
                   b("ЭтоГоловнойСотрудник"), n("КоличествоСтавок")),
        recordtype(VACATIONS_USED, (g("Сотрудник_Key", EMPLOYEES), g("ВидЕжегодногоОтпуска_Key", VACATION_KINDS)),
                   n("Количество"), d("ДатаНачала"), d("ДатаОкончания"), b("Компенсация"), d("ДатаРегистрации"),
                   d("РабочийПериодС"), d("РабочийПериодПо"), s("Основание"), s("Основание_Type"),
                   d("ПериодНачисления"), b("Сторно")),
        register(VACATION_RIGHTS, (g("Сотрудник_Key", EMPLOYEES), g("ВидЕжегодногоОтпуска_Key", VACATION_KINDS)),
                 n("КоличествоДней"), d("ДатаНачала"), d("ДатаОкончания"), n("КоличествоДнейЗаПериод"),
                 periodic=True),
        register(VACATION_BALANCES, (g("Сотрудник_Key", EMPLOYEES), g("ФизическоеЛицо_Key", PERSONS),
                                     g("ВидЕжегодногоОтпуска_Key", VACATION_KINDS), d("Дата")),
                 n("ОстатокДней"), s("МестоВСтруктуреПредприятия")),
        document("Document_Отпуск", ORGANIZATION, EMPLOYEE,
                 g("ФизическоеЛицо_Key", PERSONS), b("ПредоставитьОсновнойОтпуск"),
                 d("ДатаНачалаОсновногоОтпуска"), d("ДатаОкончанияОсновногоОтпуска"),
                 n("КоличествоДнейОсновногоОтпуска"), d("ДатаНачалаПериодаОтсутствия"),
                 d("ДатаОкончанияПериодаОтсутствия"), g("ЗаявкаСотрудника_Key", "Document_ЗаявкаНаОтпуск"),
                 n("Начислено"), n("СреднийЗаработок"), s("Комментарий"),
                 tab("ДополнительныеОтпуска", g("ВидОтпуска_Key", VACATION_KINDS), d("ДатаНачала"),
                     d("ДатаОкончания"), n("КоличествоДней"))),
        document("Document_ЗаявкаНаОтпуск", *REQUEST_HEAD, d("ДатаНачала"), d("ДатаОкончания"),
                 n("КоличествоДней"), s("ОписаниеОтпуска"), *STATUS_FIELDS,
                 g("ИсправленныйДокумент_Key", "Document_ЗаявкаНаОтпуск"),
                 tab("Отпуска", g("ВидОтпуска_Key", VACATION_KINDS), d("ДатаНачала"), d("ДатаОкончания"),
                     n("КоличествоДней"))),
        document("Document_ЗаявкаНаКомандировку", *REQUEST_HEAD, d("ДатаНачала"), d("ДатаОкончания"),
                 s("МестоНазначения"), s("ОрганизацияНазначения"), s("Цель"), *STATUS_FIELDS,
                 b("БронироватьБилеты"), e("ВидТранспорта"), s("ГородВылета")),
        document("Document_ЗапросСправки2НДФЛСотрудником", *REQUEST_HEAD, n("Год"), d("НачалоПериода"),
                 d("КонецПериода"), s("НазначениеСправки"), n("КоличествоМесяцев"), b("ЗапросОбработан")),
        document("Document_ЗапросСправкиСотрудником", *REQUEST_HEAD, g("ВидСправки_Key", CERT_KINDS),
                 s("Описание"), b("ЗапросОбработан"), g("Справка_Key", "")),
        document("Document_СообщениеОбОтсутствии", *REQUEST_HEAD, d("ДатаНачала"), d("ДатаОкончания"),
                 g("ПричинаОтсутствия_Key", ""), g("Согласовал_Key", ""), *STATUS_FIELDS),
        document("Document_ОтменаЗаявкиНаОтпуск", *REQUEST_HEAD,
                 g("ЗаявкаНаОтпуск_Key", "Document_ЗаявкаНаОтпуск"), *STATUS_FIELDS),
        *REQUEST_TARGETS,
    ]
    return {item.name: item for item in sets}


SETS = build_sets()
TABULAR_SETS = {CONTACTS_TABLE: (PERSONS, "КонтактнаяИнформация")}
# Tabular parts of every published object are also addressable as `<Set>_<Part>` (1C DG
# «Resource name generation rules»).
for _set in list(SETS.values()):
    for _prop in _set.props:
        if _prop.is_table:
            TABULAR_SETS.setdefault(f"{_set.name}_{_prop.name}", (_set.name, _prop.name))


def tabular_set(name: str) -> EntitySet:
    """The flat row set of a tabular part (`Ref_Key` of the owner + `LineNumber` + columns)."""
    owner, part = TABULAR_SETS[name]
    rows = SETS[owner].by_name[part].rows
    return EntitySet(name, "tabular", (Prop("Ref_Key", GUID),) + rows, ("Ref_Key", "LineNumber"),
                     ("Ref_Key", "LineNumber"))


ALL_SET_NAMES = tuple(SETS) + tuple(TABULAR_SETS)
