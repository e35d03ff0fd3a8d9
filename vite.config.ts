import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const page = (name: string) => fileURLToPath(new URL(`renderer/${name}`, import.meta.url));

// The renderer is built to static files and loaded by Electron from disk (and by the e2e tests
// from a local server), so asset paths must be relative. Two pages share its components and
// styles: the station app (index.html) and the supervisor's (supervisor.html, served by
// `linestation line serve`).
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: {
    outDir: '../dist-renderer',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: { input: { index: page('index.html'), supervisor: page('supervisor.html') } },
  },
});
