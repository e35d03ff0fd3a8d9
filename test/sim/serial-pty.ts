import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

/*
 * Test plumbing for listening-mode serial over REAL pseudo-terminals: socat makes a linked pty
 * pair, the simulated device (core/sim/serial-listening-main.ts, bundled with esbuild) runs in its
 * own process on end B, and the test talks to end A through the real serialport binding.
 */

const root = join(import.meta.dirname, '..', '..');

export const hasSocat = (): boolean => spawnSync('which', ['socat']).status === 0;

let bundled: Promise<string> | undefined;

/** Bundles the device entry once per test file; packages stay external and resolve from node_modules. */
export const bundleListeningDevice = (): Promise<string> => {
  bundled ??= (async () => {
    const dir = join(root, 'node_modules', '.cache', 'linestation-test');
    mkdirSync(dir, { recursive: true });
    const outfile = join(dir, `serial-listening-main-${process.pid}.mjs`);
    await build({
      entryPoints: [join(root, 'core', 'sim', 'serial-listening-main.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      packages: 'external',
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bundled;
};

/** Deletes this test process's bundle (call from afterAll). */
export const removeListeningBundle = async (): Promise<void> => {
  if (!bundled) return;
  const file = await bundled.catch(() => undefined);
  bundled = undefined;
  if (file) rmSync(file, { force: true });
};

const waitForOutput = (child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, what: string) =>
  new Promise<void>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${text}`)), 15_000);
    child[stream]?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}: ${text}`));
    });
  });

export interface PtyDevice {
  /** The host end to open with serialport. */
  readonly hostPath: string;
  stop(): Promise<void>;
}

/** Starts socat and a simulated device process on the far end; `args` go to the device entry. */
export const startPtyDevice = async (args: readonly string[] = []): Promise<PtyDevice> => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-pty-'));
  const a = join(dir, 'A');
  const b = join(dir, 'B');
  const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const children: ChildProcess[] = [socat];
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) {
      if (c.exitCode === null && c.signalCode === null && c.pid) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForOutput(socat, 'stderr', /starting data transfer loop/, 'socat');
    const entry = await bundleListeningDevice();
    const device = spawn(join(root, 'node_modules', '.bin', 'node'), [entry, '--path', b, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(device);
    await waitForOutput(device, 'stdout', /READY/, 'simulated device');
  } catch (e) {
    await stop();
    throw e;
  }
  return { hostPath: a, stop };
};
