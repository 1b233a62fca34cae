// Saving as you type: every committed cell joins a queue that is sent in one request while the previous
// one is in flight; each edit names the version of the cell it was typed over. Nothing typed is lost on
// a network error: the cells stay marked unsaved and are sent again (after 2, 4, 8… up to 30 seconds,
// or at once with retryNow). A cell another user changed meanwhile takes their value (the server says
// which); a value the server refuses stays on screen, marked, with the server's Russian reason.
import { reactive } from 'vue'

const MAX_WAIT_S = 30

export function createSaver (api, cellOf, { onConflict, onRefused }) {
  const pending = reactive(new Map()) // "sheet:day" -> text waiting to be saved
  const refused = reactive(new Map()) // "sheet:day" -> why the server refused the text
  const state = reactive({ saving: false, offline: false, retryIn: 0, message: '' })
  let attempts = 0
  let timer = null
  let countdown = null

  const key = (sheet, day) => `${sheet}:${day}`

  function queue (sheet, day, text) {
    pending.set(key(sheet, day), text)
    refused.delete(key(sheet, day))
    if (!state.offline) flush()
  }

  async function flush () {
    if (state.saving || !pending.size) return
    const sent = new Map(pending)
    const edits = [...sent].map(([cell, text]) => {
      const [sheet, day] = cell.split(':').map(Number)
      return { timesheet_id: sheet, day, text, version: cellOf(sheet, day).version }
    })
    state.saving = true
    let again = false
    try {
      const body = await api.post('/cells', { edits })
      for (const saved of body.saved) applySaved(saved, sent)
      attempts = 0
      state.offline = false
      state.message = ''
      again = pending.size > 0
    } catch (error) {
      again = handle(error, sent)
    } finally {
      state.saving = false
    }
    if (again) flush()
  }

  function applySaved (saved, sent) {
    const cell = cellOf(saved.timesheet_id, saved.day)
    const id = key(saved.timesheet_id, saved.day)
    cell.version = saved.version
    if (pending.get(id) === sent.get(id)) { // not typed over while the request was out
      pending.delete(id)
      cell.text = saved.text
    }
  }

  // What to do with a refused or failed batch; true when the rest should be sent again at once.
  function handle (error, sent) {
    const body = error.body || {}
    if (error.status === 409 && body.current) {
      const id = key(body.current.timesheet_id, body.current.day)
      const cell = cellOf(body.current.timesheet_id, body.current.day)
      Object.assign(cell, { text: body.current.text, version: body.current.version })
      if (pending.get(id) === sent.get(id)) pending.delete(id)
      onConflict(error.message)
      return true
    }
    if (error.status === 400 && body.timesheet_id) {
      const id = key(body.timesheet_id, body.day)
      if (pending.get(id) === sent.get(id)) pending.delete(id)
      refused.set(id, error.message)
      return true
    }
    if (error.status === 400 || error.status === 403 || error.status === 409) { // nothing of it can be saved
      for (const id of sent.keys()) pending.delete(id)
      onRefused(error.message)
      return false
    }
    waitAndRetry(error.status ? `Сервер не сохранил изменения (ошибка ${error.status}).` : 'Нет связи с сервером.')
    return false
  }

  function waitAndRetry (message) {
    attempts += 1
    state.offline = true
    state.message = message
    state.retryIn = Math.min(MAX_WAIT_S, 2 ** attempts)
    clearTimeout(timer)
    clearInterval(countdown)
    countdown = setInterval(() => { state.retryIn = Math.max(0, state.retryIn - 1) }, 1000)
    timer = setTimeout(retryNow, state.retryIn * 1000)
  }

  function retryNow () {
    clearTimeout(timer)
    clearInterval(countdown)
    state.offline = false
    flush()
  }

  // Resolves once nothing waits to be saved, or false when a save failed (submit waits for this).
  async function settled () {
    flush()
    while (state.saving) await new Promise((resolve) => setTimeout(resolve, 50))
    return pending.size === 0 && !state.offline
  }

  const warn = (event) => { if (pending.size) event.preventDefault() }
  window.addEventListener('beforeunload', warn)
  function dispose () {
    window.removeEventListener('beforeunload', warn)
    clearTimeout(timer)
    clearInterval(countdown)
  }

  return { pending, refused, state, queue, retryNow, settled, dispose,
    isPending: (sheet, day) => pending.has(key(sheet, day)), refusal: (sheet, day) => refused.get(key(sheet, day)) }
}
