// Vite build of the SPA. The dev server proxies the API and the WebSocket to a
// running backend (quick-start by default) so `npm run dev` talks to the real thing.
import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// CLOUDCHAT_DEV_BACKEND=none serves the SPA alone (API calls then get 404s).
const backend = process.env.CLOUDCHAT_DEV_BACKEND ?? 'http://127.0.0.1:8080';
const apiPrefixes = ['/auth', '/users', '/rooms', '/messages', '/ws-tickets', '/dms', '/mentions', '/presence', '/uploads', '/files', '/.well-known'];
const proxy =
  backend === 'none'
    ? undefined
    : {
        ...Object.fromEntries(apiPrefixes.map((p) => [p, { target: backend, changeOrigin: false }])),
        '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
      };

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: true },
  server: { proxy },
  preview: { proxy },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
