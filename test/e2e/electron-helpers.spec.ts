import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { aboutText, collectLicenses, loadLicenses } from '../../electron/licenses';
import { batchPowerGuard } from '../../electron/power';
import { safeStorageTokenStore } from '../../electron/token-store';
import { fitToDisplays, readWindowState, writeWindowState } from '../../electron/window-state';

/* The Electron shell's helpers, tested in Node with stand-ins for the Electron APIs they take. */

const tmp = () => mkdtempSync(join(tmpdir(), 'ls-shell-'));

test('window state round-trips, and a position off every display is dropped', () => {
  const file = join(tmp(), 'w.json');
  expect(readWindowState(file)).toMatchObject({ width: 1600, height: 1000 });
  writeWindowState(file, { x: 3000, y: 100, width: 1200, height: 800, maximized: true, fullScreen: false });
  const read = readWindowState(file);
  expect(read).toEqual({ x: 3000, y: 100, width: 1200, height: 800, maximized: true, fullScreen: false });
  const one = [{ x: 0, y: 0, width: 1920, height: 1080 }];
  expect(fitToDisplays(read, one)).toEqual({ width: 1200, height: 800, maximized: true, fullScreen: false });
  expect(fitToDisplays(read, [...one, { x: 1920, y: 0, width: 1920, height: 1080 }]).x).toBe(3000);
  writeFileSync(file, '{"width":"huge"}');
  expect(readWindowState(file).width).toBe(1600);
});

test('the token is stored encrypted, and refused where the OS cannot encrypt', async () => {
  const dir = tmp();
  const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));
  const safe = {
    isEncryptionAvailable: () => true,
    encryptString: (s: string) => xor(Buffer.from(s)),
    decryptString: (b: Buffer) => xor(b).toString(),
  };
  const store = safeStorageTokenStore(safe, join(dir, 't.bin'));
  expect(await store.get()).toBeUndefined();
  await store.set('abc123token');
  expect(readFileSync(join(dir, 't.bin')).toString()).not.toContain('abc123token');
  expect(await store.get()).toBe('abc123token');

  const none = safeStorageTokenStore({ ...safe, isEncryptionAvailable: () => false }, join(dir, 'u.bin'));
  await expect(none.set('abc123token')).rejects.toMatchObject({ error: { code: 'TOKEN_STORE_UNAVAILABLE' } });
  expect(await none.get()).toBeUndefined();
});

test('the power guard holds the display awake only while a batch runs', () => {
  const calls: string[] = [];
  let started = false;
  const guard = batchPowerGuard({
    start: (t) => {
      calls.push(`start ${t}`);
      started = true;
      return 7;
    },
    stop: (id) => {
      calls.push(`stop ${id}`);
      started = false;
    },
    isStarted: () => started,
  });
  guard.update(false);
  guard.update(true);
  guard.update(true);
  expect(guard.active).toBe(true);
  guard.update(false);
  expect(calls).toEqual(['start prevent-display-sleep', 'stop 7']);
  expect(guard.active).toBe(false);
});

test('the About box lists the runtime components with their licences, libusb as LGPL', () => {
  const licenses = collectLicenses(process.cwd());
  const names = licenses.map((l) => l.name);
  expect(names).toEqual(expect.arrayContaining(['electron', 'react', 'usb', 'serialport', 'zod', 'libusb']));
  expect(licenses.find((l) => l.name === 'libusb')?.license).toBe('LGPL-2.1-or-later');
  expect(licenses.find((l) => l.name === 'react')?.license).toBe('MIT');
  const text = aboutText('1.2.3', licenses);
  expect(text).toContain('linestation 1.2.3');
  expect(text).toMatch(/libusb .*LGPL-2\.1/);
  const built = join(tmp(), 'licenses.json');
  writeFileSync(built, JSON.stringify([{ name: 'x', version: '1', license: 'ISC' }]));
  expect(loadLicenses(built, process.cwd())).toEqual([{ name: 'x', version: '1', license: 'ISC' }]);
});
