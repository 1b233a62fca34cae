// The cabinet's JSON API: the session token goes in the Authorization header (never a cookie) and is
// renewed with a fresh AUTH_ID from the portal before it runs out, or once when the server says 401.
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

  async function request (method, path, retried = false) {
    const answer = await fetch(boot.api + path, {
      method, credentials: 'omit', headers: { Authorization: 'Bearer ' + token, Accept: 'application/json' }
    })
    if (answer.status === 401 && !retried) {
      await renew()
      return request(method, path, true)
    }
    const body = await answer.json().catch(() => ({}))
    if (!answer.ok) {
      const error = new Error(body.message || 'Не удалось загрузить данные.')
      error.status = answer.status
      throw error
    }
    return body
  }

  return { get: (path) => request('GET', path), post: (path) => request('POST', path) }
}
