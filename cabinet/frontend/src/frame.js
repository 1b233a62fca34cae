// The one adapter between the page and the portal around it: Bitrix24's JS SDK (@bitrix24/b24jssdk),
// which talks to the portal's parent window (postMessage): fresh AUTH_IDs for renewing the session
// (getAuthData/refreshAuth), fitting the frame to the content (fitWindow), the slider title
// (setTitle) and the portal's own forms (openPath). Outside a portal frame every call is a no-op.
// The SDK is its own chunk, loaded after the page is drawn: the first paint does not wait for it.
let ready = null

export function initFrame () {
  ready = ready || import('@bitrix24/b24jssdk')
    .then(({ initializeB24Frame }) => initializeB24Frame())
    .catch(() => null)
  return ready
}

export async function freshAuth () {
  const b24 = await initFrame()
  if (!b24) return null
  const current = b24.auth.getAuthData()
  // expires is in seconds; ask the portal for a fresh token when less than a minute is left
  if (current && current.expires * 1000 - Date.now() > 60000) return current
  return b24.auth.refreshAuth().catch(() => null)
}

let pending = false
export function fitFrame () {
  if (pending) return
  pending = true
  requestAnimationFrame(async () => {
    pending = false
    const b24 = await initFrame()
    if (b24) b24.parent.fitWindow()
  })
}

export async function setFrameTitle (title) {
  const b24 = await initFrame()
  if (b24) b24.parent.setTitle(title)
}

export async function openPortalPath (portal, path) {
  const b24 = await initFrame()
  if (b24) return b24.slider.openPath(b24.slider.getUrl(path).toString())
  window.open(portal + path, '_top')
}
