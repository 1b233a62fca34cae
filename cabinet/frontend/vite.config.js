// The cabinet's pages: Vue 3 + Bitrix24 UI, built into ../static (committed, so no Node is needed to run).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import bitrix24UIPluginVite from '@bitrix24/b24ui-nuxt/vite'

export default defineConfig({
  base: '/cabinet/static/',
  plugins: [
    vue(),
    bitrix24UIPluginVite({ colorMode: false })
  ],
  build: {
    outDir: '../static',
    emptyOutDir: true,
    manifest: true,
    rollupOptions: { input: 'src/main.js' }
  }
})
