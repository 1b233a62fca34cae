import { inject, onMounted, reactive } from 'vue'
import { fitFrame } from './frame.js'

// Load one API path into a reactive {loading, error, data}; the frame is refitted afterwards.
export function useLoad (path) {
  const api = inject('api')
  const state = reactive({ loading: true, error: '', data: null })
  async function load (target = path) {
    state.loading = true
    try {
      state.data = await api.get(typeof target === 'function' ? target() : target)
      state.error = ''
    } catch (e) {
      state.error = e.message
    } finally {
      state.loading = false
      requestAnimationFrame(fitFrame)
    }
  }
  onMounted(() => load())
  return { state, load }
}
