// The one adapter between the page and the portal around it: BX24.js, which the portal serves
// (getAuth/refreshAuth for renewing the session, fitWindow/resizeWindow to fit the frame, openPath
// to open the portal's own forms). Outside a portal frame every call degrades to a no-op.
const bx = () => (typeof window !== 'undefined' ? window.BX24 : undefined)
let ready = null

export function initFrame () {
  ready = ready || new Promise((resolve) => {
    try {
      if (!bx()) return resolve(false)
      bx().init(() => resolve(true))
    } catch (e) {
      resolve(false)
    }
  })
  return ready
}

export async function freshAuth () {
  if (!(await initFrame())) return null
  const current = bx().getAuth && bx().getAuth()
  // getAuth().expires_in is a millisecond epoch; refresh when less than a minute is left
  if (current && current.access_token && Number(current.expires_in) - Date.now() > 60000) return current
  if (!bx().refreshAuth) return current || null
  return new Promise((resolve) => bx().refreshAuth((auth) => resolve(auth || null)))
}

let pending = false
export function fitFrame () {
  if (pending) return
  pending = true
  requestAnimationFrame(async () => {
    pending = false
    if (!(await initFrame())) return
    if (bx().fitWindow) bx().fitWindow()
    else if (bx().resizeWindow) bx().resizeWindow(document.documentElement.clientWidth, document.documentElement.scrollHeight)
  })
}

export async function setFrameTitle (title) {
  if ((await initFrame()) && bx().setTitle) bx().setTitle(title)
}

export async function openPortalPath (portal, path) {
  if ((await initFrame()) && bx().openPath) return bx().openPath(path)
  window.open(portal + path, '_top')
}
