// Launches the desktop app. The `electron` package downloads its binary at install time; where
// that never happened (an offline machine), requiring it would try to download again and then
// throw. So we look for the binary ourselves first and, when there is none, say so in one
// sentence and exit non-zero instead of printing a stack trace.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

const findElectron = () => {
  if (process.env.ELECTRON_PATH && existsSync(process.env.ELECTRON_PATH)) return process.env.ELECTRON_PATH;
  let pkgDir;
  try {
    pkgDir = dirname(require.resolve('electron/package.json'));
  } catch {
    return undefined;
  }
  const pathFile = join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return undefined;
  const relative = readFileSync(pathFile, 'utf8').trim();
  const dist = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkgDir, 'dist');
  const binary = join(dist, relative);
  if (!existsSync(binary)) return undefined;
  try {
    // With the binary present this only returns its path; it cannot trigger a download.
    return require('electron');
  } catch {
    return undefined;
  }
};

const electron = findElectron();
if (!electron) {
  process.stderr.write(
    'linestation: ELECTRON_UNAVAILABLE: the Electron binary is not installed on this machine (npm downloads it at install time, which needs the internet), so the desktop app cannot start here; set ELECTRON_PATH to an Electron 45 binary, or use the "linestation" CLI.\n',
  );
  process.exit(1);
}
if (
  !existsSync(join(root, 'dist-electron', 'main.cjs')) ||
  !existsSync(join(root, 'dist-renderer', 'index.html'))
) {
  process.stderr.write('linestation: NOT_BUILT: run "npm run build" first (npm start does it for you).\n');
  process.exit(1);
}

const env = { ...process.env };
// Set by some shells and CI images; with it Electron would run as plain Node and show no window.
delete env.ELECTRON_RUN_AS_NODE;
const child = spawn(electron, [root, ...process.argv.slice(2)], { stdio: 'inherit', env });
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
