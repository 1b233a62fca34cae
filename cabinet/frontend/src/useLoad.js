import { inject, onMounted, reactive } from 'vue'
import { fitFrame } from './frame.js'

// Load one API path into a reactive {loading, error, data}; the frame is refitted afterwards.
// `path` may be a function; while it returns null nothing is asked (call load() when it has one).
// `api` is the cabinet's by default (another feature's: api.at(base)).
export function useLoad (path, api = inject('api')) {
  const state = reactive({ loading: true, error: '', data: null })
  let asked = 0
  async function load () {
    const target = typeof path === 'function' ? path() : path
    if (!target) return
    const ticket = ++asked
    state.loading = true
    try {
      const data = await api.get(target)
      if (ticket === asked) { state.data = data; state.error = '' }
    } catch (e) {
      if (ticket === asked) state.error = e.message
    } finally {
      if (ticket === asked) state.loading = false
      requestAnimationFrame(fitFrame)
    }
  }
  onMounted(load)
  return { state, load }
}
