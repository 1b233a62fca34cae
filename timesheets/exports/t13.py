"""The timesheet as the unified form Т-13 «Табель учета рабочего времени» (XLSX, openpyxl).

Layout of the form approved by Постановление Госкомстата России от 05.01.2004 № 1 (ОКУД 0301008):
the title block (organisation, structural subdivision, document number and date, reporting period),
the table whose columns are numbered 1–13 as on the form — 1 № по порядку, 2 фамилия, инициалы,
должность, 3 табельный номер, 4 отметки о явках и неявках по числам месяца (first half 1–15 and an
«X», second half 16–31), 5 отработано за половину месяца (I, II), 6 отработано за месяц (дни, часы),
7–9 данные для начисления заработной платы (код вида оплаты, корреспондирующий счет, дни (часы)),
10–13 неявки по причинам (код, дни (часы)) — four rows per employee: codes and hours of the first
half, codes and hours of the second half; the signatures at the bottom. Written in openpyxl's
write-only mode, so 10,000 rows take seconds and little memory.
"""
from __future__ import annotations

import datetime as dt
from copy import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.cell_range import CellRange, MultiCellRange
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select
from sqlalchemy.orm import Session

from timesheets.calendar import month_title
from timesheets.codes import DayValue, all_codes, format_hours
from timesheets.models import Timesheet
from timesheets.sheets import TimesheetError
from timesheets.summaries import load_summary
from timesheets.totals import code_totals, worked_days

FORM_NOTE = ("Унифицированная форма № Т-13\nУтверждена постановлением Госкомстата России от 05.01.2004 № 1")
DAY_COLUMNS = 16  # 15 days and an "X" in the first half, 16 days in the second
FIRST_DAY_COLUMN = 4
HALF_COLUMN = FIRST_DAY_COLUMN + DAY_COLUMNS  # 20: column 5 of the form
MONTH_COLUMN = HALF_COLUMN + 1  # 21: column 6
PAY_COLUMNS = (22, 23, 24)  # columns 7-9
ABSENCE_COLUMNS = (25, 26, 27, 28)  # columns 10-13: code, days (hours), code, days (hours)
LAST_COLUMN = ABSENCE_COLUMNS[-1]
WIDTHS = {1: 4.5, 2: 24, 3: 8, **{c: 4.2 for c in range(FIRST_DAY_COLUMN, HALF_COLUMN)}, HALF_COLUMN: 7,
          MONTH_COLUMN: 7, 22: 6, 23: 7, 24: 6, 25: 5, 26: 6, 27: 5, 28: 6}
NOT_ABSENCES = frozenset({"В"})


@dataclass(frozen=True)
class T13Header:
    organization: str
    department: str
    period_start: dt.date
    number: str
    compiled_on: dt.date
    okpo: str = ""


@dataclass(frozen=True)
class T13Row:
    """One employee of the form."""

    name: str
    position: str
    personnel_number: str
    values: Sequence[DayValue]  # one per day of the month


def _styles() -> dict[str, NamedStyle]:
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    return {
        "t13_text": NamedStyle("t13_text", font=Font(name="Arial", size=8)),
        "t13_title": NamedStyle("t13_title", font=Font(name="Arial", size=11, bold=True),
                                alignment=Alignment(horizontal="center")),
        "t13_note": NamedStyle("t13_note", font=Font(name="Arial", size=7),
                               alignment=Alignment(horizontal="right", wrap_text=True)),
        "t13_caption": NamedStyle("t13_caption", font=Font(name="Arial", size=6),
                                  alignment=Alignment(horizontal="center", vertical="top")),
        "t13_line": NamedStyle("t13_line", font=Font(name="Arial", size=8), border=Border(bottom=thin),
                               alignment=Alignment(horizontal="center")),
        "t13_head": NamedStyle("t13_head", font=Font(name="Arial", size=7), border=box, alignment=center),
        "t13_cell": NamedStyle("t13_cell", font=Font(name="Arial", size=8), border=box, alignment=center),
        "t13_code": NamedStyle("t13_code", font=Font(name="Arial", size=8, bold=True), border=box,
                               alignment=center),
        "t13_name": NamedStyle("t13_name", font=Font(name="Arial", size=8), border=box,
                               alignment=Alignment(vertical="center", wrap_text=True)),
        "t13_total": NamedStyle("t13_total", font=Font(name="Arial", size=8, bold=True), border=box,
                                alignment=center),
    }


class _Writer:
    """Appends styled rows and remembers merges; rows are numbered as written."""

    def __init__(self, sheet: WriteOnlyWorksheet, styles: dict[str, NamedStyle]) -> None:
        self.sheet = sheet
        # What ``cell.style = name`` ends with (openpyxl 3.1 styleable.NamedStyleDescriptor), computed once:
        # the setter rebuilds the list of style names on every call, a quarter of the export's time.
        self.arrays = {name: style.as_tuple() for name, style in styles.items()}
        self.cells: dict[tuple[int, str], WriteOnlyCell] = {}  # reused: a written row is already serialised
        self.row = 0
        self.merges: list[CellRange] = []

    def append(self, cells: dict[int, tuple[Any, str]], height: float | None = None) -> int:
        self.row += 1
        width = max(cells, default=0)
        line = []
        for column in range(1, width + 1):
            value, style = cells.get(column, (None, ""))
            cell = self.cells.get((column, style))
            if cell is None:
                cell = self.cells[(column, style)] = WriteOnlyCell(self.sheet)
                if style:
                    cell._style = copy(self.arrays[style])
            cell.value = value
            line.append(cell)
        if height:
            self.sheet.row_dimensions[self.row].height = height
        self.sheet.append(line)
        return self.row

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
        self.merges.append(CellRange(min_col=first_col, min_row=first_row, max_col=last_col, max_row=last_row))

    def close(self) -> None:
        """Hand the merges over at once (adding them one by one is quadratic in openpyxl)."""
        self.sheet.merged_cells = MultiCellRange(self.merges)


def write_t13(out: IO[bytes] | str, header: T13Header, rows: Iterable[T13Row]) -> int:
    """Write the form; returns the number of employees."""
    book = Workbook(write_only=True)
    styles = _styles()
    for style in styles.values():
        book.add_named_style(style)
    sheet = book.create_sheet("Т-13")
    for column, width in WIDTHS.items():
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0  # one page wide, as many tall as needed
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    writer = _Writer(sheet, styles)
    _title(writer, header)
    _table_head(writer)
    count, totals = 0, _Totals()
    for number, row in enumerate(rows, start=1):
        _employee(writer, number, row, totals)
        count += 1
    _total_rows(writer, totals)
    _signatures(writer)
    writer.close()
    book.save(out)
    return count


def _title(writer: _Writer, header: T13Header) -> None:
    period_end = _month_end(header.period_start)
    note = writer.append({LAST_COLUMN - 6: (FORM_NOTE, "t13_note")}, height=24)
    writer.merge(note, LAST_COLUMN - 6, note, LAST_COLUMN)
    writer.append({LAST_COLUMN - 3: ("Форма по ОКУД", "t13_note"), LAST_COLUMN - 1: ("0301008", "t13_cell")})
    for text, caption in ((header.organization, "наименование организации"),
                          (header.department, "структурное подразделение")):
        okpo = {LAST_COLUMN - 3: ("по ОКПО", "t13_note"), LAST_COLUMN - 1: (header.okpo, "t13_cell")}
        line = writer.append({**{column: (text if column == 1 else None, "t13_line") for column in range(1, 19)},
                              **(okpo if caption.startswith("наим") else {})})
        writer.merge(line, 1, line, 18)
        below = writer.append({1: (caption, "t13_caption")})
        writer.merge(below, 1, below, 18)
    boxes = ((12, 13, "Номер документа", header.number), (14, 16, "Дата составления",
                                                          header.compiled_on.strftime("%d.%m.%Y")))
    period = ((17, 18, "с", header.period_start.strftime("%d.%m.%Y")), (19, 20, "по", period_end.strftime("%d.%m.%Y")))
    heads = writer.append({**{first: (label, "t13_head") for first, _, label, _ in boxes},
                           17: ("Отчетный период", "t13_head")})
    subheads = writer.append({first: (label, "t13_head") for first, _, label, _ in period})
    values = writer.append({2: ("ТАБЕЛЬ", "t13_title"),
                            **{first: (value, "t13_cell") for first, _, _, value in boxes + period}})
    for first, last, _, _ in boxes:
        writer.merge(heads, first, subheads, last)
        writer.merge(values, first, values, last)
    writer.merge(heads, 17, heads, 20)
    for first, last, _, _ in period:
        writer.merge(subheads, first, subheads, last)
        writer.merge(values, first, values, last)
    writer.merge(values, 2, values, 10)
    caption = writer.append({2: ("учета рабочего времени", "t13_title")})
    writer.merge(caption, 2, caption, 10)
    writer.append({})


def _month_end(period_start: dt.date) -> dt.date:
    return (period_start.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def _table_head(writer: _Writer) -> None:
    head = "t13_head"
    first = writer.append({
        1: ("Номер по порядку", head), 2: ("Фамилия, инициалы, должность (специальность, профессия)", head),
        3: ("Табельный номер", head), FIRST_DAY_COLUMN: ("Отметки о явках и неявках на работу по числам месяца", head),
        HALF_COLUMN: ("Отработано за", head),
        PAY_COLUMNS[0]: ("Данные для расчета заработной платы по видам и направлениям затрат", head),
        ABSENCE_COLUMNS[0]: ("Неявки по причинам", head), LAST_COLUMN: ("", head)}, height=30)
    second = writer.append({
        HALF_COLUMN: ("половину месяца (I, II)", head), MONTH_COLUMN: ("месяц", head),
        PAY_COLUMNS[0]: ("код вида оплаты", head), PAY_COLUMNS[1]: ("корреспондирующий счет", head),
        PAY_COLUMNS[2]: ("дни (часы)", head), ABSENCE_COLUMNS[0]: ("код", head),
        ABSENCE_COLUMNS[1]: ("дни (часы)", head), ABSENCE_COLUMNS[2]: ("код", head),
        ABSENCE_COLUMNS[3]: ("дни (часы)", head),
        **{FIRST_DAY_COLUMN + i: (str(i + 1), head) for i in range(15)},
        FIRST_DAY_COLUMN + 15: ("X", head)}, height=36)
    third = writer.append({MONTH_COLUMN: ("дни / часы", head),
                           **{FIRST_DAY_COLUMN + i: (str(i + 16), head) for i in range(16)}})
    numbers = writer.append({1: ("1", head), 2: ("2", head), 3: ("3", head), FIRST_DAY_COLUMN: ("4", head),
                             HALF_COLUMN: ("5", head), MONTH_COLUMN: ("6", head),
                             **{column: (str(7 + i), head) for i, column in enumerate(PAY_COLUMNS + ABSENCE_COLUMNS)}})
    for column in (1, 2, 3):
        writer.merge(first, column, third, column)
    writer.merge(first, FIRST_DAY_COLUMN, first, HALF_COLUMN - 1)
    writer.merge(first, HALF_COLUMN, first, MONTH_COLUMN)
    writer.merge(first, PAY_COLUMNS[0], first, PAY_COLUMNS[-1])
    writer.merge(first, ABSENCE_COLUMNS[0], first, LAST_COLUMN)
    for column in (HALF_COLUMN, *PAY_COLUMNS, *ABSENCE_COLUMNS):
        writer.merge(second, column, third, column)
    writer.merge(numbers, FIRST_DAY_COLUMN, numbers, HALF_COLUMN - 1)


@dataclass
class _Worked:
    """Days and minutes worked in a half of the month."""

    days: int = 0
    minutes: int = 0

    def add(self, other: _Worked) -> None:
        self.days += other.days
        self.minutes += other.minutes


@dataclass
class _Totals:
    first: _Worked = field(default_factory=_Worked)
    second: _Worked = field(default_factory=_Worked)


def _half(values: Sequence[DayValue]) -> _Worked:
    return _Worked(worked_days(values), sum(_worked(value) for value in values))


def _worked_cells(first: _Worked, second: _Worked, style: str) -> list[dict[int, tuple[Any, str]]]:
    """Columns 5 and 6 of the four rows: each half's days and hours, the month's days and hours."""
    days, minutes = first.days + second.days, first.minutes + second.minutes
    return [{HALF_COLUMN: (first.days, style), MONTH_COLUMN: (days, style)},
            {HALF_COLUMN: (_hours(first.minutes), style), MONTH_COLUMN: (None, style)},
            {HALF_COLUMN: (second.days, style), MONTH_COLUMN: (_hours(minutes), style)},
            {HALF_COLUMN: (_hours(second.minutes), style), MONTH_COLUMN: (None, style)}]


def _merge_month(writer: _Writer, top: int) -> None:
    writer.merge(top, MONTH_COLUMN, top + 1, MONTH_COLUMN)
    writer.merge(top + 2, MONTH_COLUMN, top + 3, MONTH_COLUMN)


def _worked(value: DayValue) -> int:
    return sum(mark.minutes or 0 for mark in value.marks if all_codes()[mark.code].hours)


def _codes_and_hours(values: Sequence[DayValue], pad_x: bool) -> tuple[dict[int, tuple[Any, str]], dict[int, tuple[Any, str]]]:
    codes: dict[int, tuple[Any, str]] = {}
    hours: dict[int, tuple[Any, str]] = {}
    for index in range(DAY_COLUMNS):
        column = FIRST_DAY_COLUMN + index
        if index < len(values):
            value = values[index]
            codes[column] = ("/".join(m.code for m in value.marks), "t13_code")
            hours[column] = ("/".join(format_hours(m.minutes) for m in value.marks if m.minutes), "t13_cell")
        else:
            filler = "X" if pad_x or index >= len(values) else ""
            codes[column], hours[column] = (filler, "t13_code"), (filler, "t13_cell")
    return codes, hours


def _absences(values: Sequence[DayValue]) -> list[tuple[str, str]]:
    """Absence codes with their days (hours), for columns 10–13."""
    pairs = []
    for code, total in code_totals(values).items():
        if all_codes()[code].hours or code in NOT_ABSENCES:
            continue
        hours = f" ({format_hours(total.minutes)})" if total.minutes else ""
        pairs.append((code, f"{total.days}{hours}"))
    return pairs


def _employee(writer: _Writer, number: int, row: T13Row, totals: _Totals) -> None:
    first_half, second_half = list(row.values[:15]), list(row.values[15:])
    first, second = _half(first_half), _half(second_half)
    totals.first.add(first)
    totals.second.add(second)
    codes_1, hours_1 = _codes_and_hours(first_half, pad_x=True)
    codes_2, hours_2 = _codes_and_hours(second_half, pad_x=False)
    absences = _absences(row.values) + [("", "")] * 8
    cell = "t13_cell"

    def fixed(line: int) -> dict[int, tuple[Any, str]]:
        pair_1, pair_2 = absences[line * 2], absences[line * 2 + 1]
        return {1: (number if line == 0 else None, cell), 2: (f"{row.name}, {row.position}" if line == 0 else None,
                                                              "t13_name"),
                3: (row.personnel_number if line == 0 else None, cell),
                PAY_COLUMNS[0]: (None, cell), PAY_COLUMNS[1]: (None, cell), PAY_COLUMNS[2]: (None, cell),
                ABSENCE_COLUMNS[0]: (pair_1[0], "t13_code"), ABSENCE_COLUMNS[1]: (pair_1[1], cell),
                ABSENCE_COLUMNS[2]: (pair_2[0], "t13_code"), ABSENCE_COLUMNS[3]: (pair_2[1], cell)}

    worked = _worked_cells(first, second, cell)
    top = writer.append({**fixed(0), **codes_1, **worked[0]})
    for line, marks in ((1, hours_1), (2, codes_2), (3, hours_2)):
        writer.append({**fixed(line), **marks, **worked[line]})
    for column in (1, 2, 3, *PAY_COLUMNS):
        writer.merge(top, column, top + 3, column)
    _merge_month(writer, top)


def _hours(minutes: int) -> float | int:
    hours = round(minutes / 60, 2)
    return int(hours) if hours == int(hours) else hours


def _total_rows(writer: _Writer, totals: _Totals) -> None:
    total = "t13_total"
    worked = _worked_cells(totals.first, totals.second, total)
    top = writer.append({2: ("Итого", total), 3: (None, total), **worked[0]})
    for line in worked[1:]:
        writer.append({2: (None, total), 3: (None, total), **line})
    writer.merge(top, 2, top + 3, 3)
    _merge_month(writer, top)


def _signatures(writer: _Writer) -> None:
    writer.append({})
    blanks = ((8, 11, "должность"), (13, 15, "личная подпись"), (17, 21, "расшифровка подписи"))
    for role in ("Ответственное лицо", "Руководитель структурного подразделения", "Работник кадровой службы"):
        line = writer.append({1: (role, "t13_text"), 24: ("«___» __________ 20__ г.", "t13_text"),
                              **{column: (None, "t13_line") for first, last, _ in blanks
                                 for column in range(first, last + 1)}})
        captions = writer.append({first: (caption, "t13_caption") for first, _, caption in blanks})
        writer.merge(line, 1, line, 7)
        for first, last, _ in blanks:
            writer.merge(line, first, line, last)
            writer.merge(captions, first, captions, last)


def t13_of_department(session: Session, member_id: str, department_ref: str, period_start: dt.date,
                      out: IO[bytes] | str, compiled_on: dt.date) -> int:
    """The T-13 of one site and month from the stored timesheets of portal ``member_id``; returns the number
    of employees."""
    summary = load_summary(session, member_id, "", period_start, [department_ref])
    first = session.scalar(select(Timesheet).where(Timesheet.member_id == member_id,
                                                   Timesheet.department_ref == department_ref,
                                                   Timesheet.period_start == summary.period_start).limit(1))
    if first is None:
        raise TimesheetError(f"за {month_title(summary.period_start)} табелей подразделения нет")
    header = T13Header(first.legal_entity_name, first.site_name, summary.period_start,
                       f"{summary.period_start:%m}/{summary.period_start:%Y}", compiled_on)
    rows = (T13Row(person.name, person.position, person.personnel_number, person.values) for person in summary.people)
    return write_t13(out, header, rows)
