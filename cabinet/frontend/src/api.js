// The cabinet's JSON API: the session token goes in the Authorization header (never a cookie) and is
// renewed with a fresh AUTH_ID from the portal before it runs out, or once when the server says 401.
// `api.at(base)` talks to another feature's API (the timesheets') with the same session.
import { freshAuth } from './frame.js'

export function createApi (boot) {
  let token = boot.token
  let renewing = null

  async function renew () {
    renewing = renewing || (async () => {
      const auth = await freshAuth()
      if (!auth) throw new Error('Сессия истекла: откройте приложение заново.')
      const answer = await fetch(boot.renew_url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, credentials: 'omit',
        body: JSON.stringify({ session: token, auth_id: auth.access_token })
      })
      if (!answer.ok) throw new Error('Сессия истекла: откройте приложение заново.')
      const body = await answer.json()
      token = body.token
      schedule(body.expires_in)
    })().finally(() => { renewing = null })
    return renewing
  }

  function schedule (seconds) {
    setTimeout(() => renew().catch(() => {}), Math.max(30, seconds - 90) * 1000)
  }
  schedule(boot.expires_in)

  // A network failure throws an Error with status 0; an answer that is not OK one with its status and body.
  async function send (method, url, body, retried = false) {
    const sentWith = token
    const headers = { Authorization: 'Bearer ' + sentWith, Accept: 'application/json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let answer
    try {
      answer = await fetch(url, { method, credentials: 'omit', headers, body: body === undefined ? undefined : JSON.stringify(body) })
    } catch (e) {
      throw Object.assign(new Error('Нет связи с сервером.'), { status: 0, body: {} })
    }
    if (answer.status === 401 && !retried) {
      // requests refused together share one renewal: one that finished meanwhile already gave a new token
      if (token === sentWith) await renew()
      return send(method, url, body, true)
    }
    return answer
  }

  async function request (method, url, body) {
    const answer = await send(method, url, body)
    const parsed = await answer.json().catch(() => ({}))
    if (!answer.ok) {
      throw Object.assign(new Error(parsed.message || 'Не удалось загрузить данные.'), { status: answer.status, body: parsed })
    }
    return parsed
  }

  // A file: its content and the name the server gave it (X-File-Name, URL-encoded), if any.
  async function download (url) {
    const answer = await send('GET', url)
    if (!answer.ok) {
      const parsed = await answer.json().catch(() => ({}))
      throw Object.assign(new Error(parsed.message || 'Не удалось скачать файл.'), { status: answer.status, body: parsed })
    }
    const name = answer.headers.get('X-File-Name')
    return { blob: await answer.blob(), name: name ? decodeURIComponent(name) : '' }
  }

  function at (base) {
    return {
      get: (path) => request('GET', base + path),
      post: (path, body) => request('POST', base + path, body),
      download: (path) => download(base + path),
      at
    }
  }
  return at(boot.api)
}
