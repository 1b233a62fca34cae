// The grid's pure parts: rectangles of cells, what a copy holds and where a paste lands, the hours a
// day's text adds up to, the month's days. No Vue here, so each rule reads on its own.

export const WEEKDAYS = ['вс', 'пн', 'вт', 'ср', 'чт', 'пт', 'сб']
const MONTHS = ['январь', 'февраль', 'март', 'апрель', 'май', 'июнь', 'июль', 'август', 'сентябрь', 'октябрь',
  'ноябрь', 'декабрь']

// "2026-12" -> "декабрь 2026"
export function monthTitle (month) {
  const [year, number] = month.split('-').map(Number)
  return `${MONTHS[number - 1]} ${year}`
}

// "2026-12", +1 -> "2027-01"
export function shiftMonth (month, delta) {
  const [year, number] = month.split('-').map(Number)
  const index = year * 12 + number - 1 + delta
  return `${Math.floor(index / 12)}-${String(index % 12 + 1).padStart(2, '0')}`
}

// The weekday of each day of the month ("пн", ...), from the calendar, not the browser's time zone.
export function weekdays (month, days) {
  const [year, number] = month.split('-').map(Number)
  return Array.from({ length: days }, (_, index) => WEEKDAYS[new Date(Date.UTC(year, number - 1, index + 1)).getUTCDay()])
}

// The rectangle between two cells {r, c}, inclusive.
export function rectangle (a, b) {
  return { top: Math.min(a.r, b.r), bottom: Math.max(a.r, b.r), left: Math.min(a.c, b.c), right: Math.max(a.c, b.c) }
}

export function contains (rect, r, c) {
  return r >= rect.top && r <= rect.bottom && c >= rect.left && c <= rect.right
}

// The texts of a rectangle as rows of columns: what a copy holds.
export function block (rect, textAt) {
  const rows = []
  for (let r = rect.top; r <= rect.bottom; r++) {
    const row = []
    for (let c = rect.left; c <= rect.right; c++) row.push(textAt(r, c))
    rows.push(row)
  }
  return rows
}

// Where a copied block lands, as spreadsheets do: a selection that is a whole multiple of the block in a
// direction is filled by repeating it (one person's week copied onto three people); otherwise the block
// is pasted once from the selection's top left corner. Cells beyond the grid are left out.
export function pasted (copied, rect, limits) {
  const height = copied.length
  const width = copied[0].length
  const selectedRows = rect.bottom - rect.top + 1
  const selectedColumns = rect.right - rect.left + 1
  const rows = selectedRows % height === 0 ? selectedRows : height
  const columns = selectedColumns % width === 0 ? selectedColumns : width
  const changes = []
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const row = rect.top + r
      const column = rect.left + c
      if (row < limits.rows && column < limits.columns) changes.push({ r: row, c: column, text: copied[r % height][c % width] })
    }
  }
  return changes
}

// Tab-separated text (what Excel puts on the clipboard) <-> a block.
export function toTsv (rows) {
  return rows.map((row) => row.join('\t')).join('\n')
}

export function fromTsv (text) {
  const rows = text.replace(/\r/g, '').replace(/\n$/, '').split('\n').map((line) => line.split('\t').map((cell) => cell.trim()))
  return rows.length && rows[0].length ? rows : null
}

// Hours a day's text adds up to: "Я 8" -> 8, "Я/Н 6/2" -> 8, "7,5" -> 7.5, "ОТ" -> 0.
export function hoursOf (text) {
  const match = String(text || '').trim().match(/(?:^|\s)([\d.,:/]+)$/)
  if (!match) return 0
  return match[1].split('/').reduce((sum, part) => sum + hoursOfNumber(part), 0)
}

function hoursOfNumber (part) {
  if (part.includes(':')) {
    const [hours, minutes] = part.split(':').map(Number)
    return (hours || 0) + (minutes || 0) / 60
  }
  return Number(part.replace(',', '.')) || 0
}

export function formatHours (hours) {
  return Number(hours.toFixed(2)).toLocaleString('ru-RU')
}
