// Vite build of the SPA. The dev server proxies the API and the WebSocket to a
// running backend (quick-start by default) so `npm run dev` talks to the real thing.
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { build, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The service worker (src/sw.ts) is served at /sw.js, so its scope is the whole app. The
 * build makes it a separate, self-contained classic script (no shared chunks, no hash in its
 * name: browsers look for updates at the same URL; nginx and the quick-start server send it
 * with `Cache-Control: no-cache`); the dev server compiles it on request as a module worker.
 */
function serviceWorker(): Plugin {
  let root = process.cwd();
  let outDir = 'dist';
  return {
    name: 'cloudchat-service-worker',
    configResolved(c) {
      root = c.root;
      outDir = path.resolve(c.root, c.build.outDir);
    },
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        if (req.url?.split('?')[0] !== '/sw.js') return next();
        try {
          const out = await server.transformRequest('/src/sw.ts');
          if (!out) return next();
          res.setHeader('Content-Type', 'text/javascript');
          res.setHeader('Cache-Control', 'no-cache');
          res.end(out.code);
        } catch (e) {
          next(e);
        }
      });
    },
    async closeBundle() {
      await build({
        configFile: false,
        root,
        logLevel: 'warn',
        build: {
          outDir,
          emptyOutDir: false,
          copyPublicDir: false,
          sourcemap: true,
          lib: { entry: path.resolve(root, 'src/sw.ts'), formats: ['iife'], name: 'cloudchatServiceWorker', fileName: () => 'sw.js' },
        },
      });
    },
  };
}

// CLOUDCHAT_DEV_BACKEND=none serves the SPA alone (API calls then get 404s).
const backend = process.env.CLOUDCHAT_DEV_BACKEND ?? 'http://127.0.0.1:8080';
const apiPrefixes = ['/auth', '/users', '/rooms', '/messages', '/ws-tickets', '/dms', '/mentions', '/presence', '/uploads', '/files', '/search', '/push', '/notification-settings', '/notifications', '/.well-known', '/admin/users', '/admin/audit', '/admin/stats', '/reports', '/blocks'];
const proxy =
  backend === 'none'
    ? undefined
    : {
        ...Object.fromEntries(apiPrefixes.map((p) => [p, { target: backend, changeOrigin: false }])),
        '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
      };

export default defineConfig({
  plugins: [react(), serviceWorker()],
  build: { outDir: 'dist', sourcemap: true },
  server: { proxy },
  preview: { proxy },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
