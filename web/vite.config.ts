/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` serves the app on :5173 and forwards the API to the control plane (`make dev` or
// `codevoice serve`), so the browser sees one origin as it does when Litestar serves web/dist.
const apiTarget = process.env.CODEVOICE_API_URL ?? 'http://127.0.0.1:8000';
const apiPrefixes = ['/auth', '/sessions', '/livekit', '/rooms', '/healthz', '/readyz', '/docs'];

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: Object.fromEntries(apiPrefixes.map((prefix) => [prefix, { target: apiTarget }])),
  },
  build: { sourcemap: true, chunkSizeWarningLimit: 1500 },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
