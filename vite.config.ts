import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The renderer is built to static files and loaded by Electron from disk (and by the e2e tests
// from a local server), so asset paths must be relative.
export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [react()],
  build: { outDir: '../dist-renderer', emptyOutDir: true, sourcemap: true },
});
