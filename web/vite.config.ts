// Vite build of the SPA. The dev server proxies the API and the WebSocket to a
// running backend (quick-start by default) so `npm run dev` talks to the real thing.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

const backend = process.env.CLOUDCHAT_DEV_BACKEND ?? 'http://127.0.0.1:8080';
const apiPrefixes = ['/auth', '/users', '/rooms', '/messages', '/ws-tickets', '/.well-known'];

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: true },
  server: {
    proxy: {
      ...Object.fromEntries(apiPrefixes.map((p) => [p, { target: backend, changeOrigin: false }])),
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
