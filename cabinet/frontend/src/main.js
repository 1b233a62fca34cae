import './main.css'
import { createApp } from 'vue'
import { createRouter, createMemoryHistory } from 'vue-router'
import b24UiPlugin from '@bitrix24/b24ui-nuxt/vue-plugin'
import App from './App.vue'

const boot = JSON.parse(document.getElementById('cabinet-boot').textContent)
// The page lives in the portal's iframe: its address never changes, pages switch in memory.
const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/', component: { render: () => null } }] })
createApp(App, { boot }).use(router).use(b24UiPlugin).mount('#app')
