import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashPin, openSettingsStore, SETTINGS_FILE, verifyPin } from '../../core/app/settings-store';

const dir = () => mkdtempSync(join(tmpdir(), 'ls-settings-'));

describe('station settings', () => {
  it('hashes a PIN with scrypt and a random salt, and verifies only the same PIN', async () => {
    const a = await hashPin('4711');
    const b = await hashPin('4711');
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
    expect(await verifyPin('4711', a)).toBe(true);
    expect(await verifyPin('4712', a)).toBe(false);
    expect(await verifyPin('', a)).toBe(false);
  });

  it('starts from defaults, saves atomically and reads back in a new store', () => {
    const d = dir();
    const store = openSettingsStore(d, 'bench-3');
    expect(store.read()).toEqual({ stationName: 'bench-3', slotLabels: {} });
    const r = store.update((s) => ({ ...s, stationName: 'line-2', slotLabels: { '1-1.2': 'B' } }));
    expect(r.ok).toBe(true);
    expect(openSettingsStore(d).read()).toEqual({ stationName: 'line-2', slotLabels: { '1-1.2': 'B' } });
  });

  it('falls back to defaults (and no PIN) on a damaged file, so the station still starts', () => {
    const d = dir();
    writeFileSync(join(d, SETTINGS_FILE), '{ not json');
    expect(openSettingsStore(d, 'x').read()).toEqual({ stationName: 'x', slotLabels: {} });
  });

  it('reports a folder it cannot write as SETTINGS_WRITE_FAILED', () => {
    const d = dir();
    writeFileSync(join(d, 'file'), '');
    const store = openSettingsStore(join(d, 'file', 'sub'), 'x');
    const r = store.update((s) => ({ ...s, stationName: 'y' }));
    expect(!r.ok && r.error.code).toBe('SETTINGS_WRITE_FAILED');
    expect(store.read().stationName).toBe('x');
  });
});
