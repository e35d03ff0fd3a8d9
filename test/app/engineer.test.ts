import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AppService, createAppService } from '../../core/app/service';
import { SETTINGS_FILE } from '../../core/app/settings-store';
import { memoryTokenStore } from '../../core/app/token-store';
import { METHOD_NAMES, METHODS } from '../../core/contract/methods';

let app: AppService | undefined;
afterEach(async () => {
  await app?.dispose();
  app = undefined;
});

const fresh = (over: Parameters<typeof createAppService>[0] = {}) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ls-eng-'));
  app = createAppService({ dataDir, env: {}, ...over });
  return { app, dataDir };
};

/** A valid request for each engineer method, so a refusal cannot be a validation error. */
const SAMPLE: Record<string, unknown> = {
  'profile.load': { path: 'x.json' },
  'profile.lock': {},
  'profile.read': {},
  'profile.save': { path: 'x.json', profile: {} },
  'firmware.inspect': { path: 'x.bin' },
  'files.choose': { kind: 'firmware' },
  'audit.list': {},
  'settings.get': {},
  'settings.update': { stationName: 'x' },
  'usb.ports': {},
  'cloud.setToken': { token: 'abcdefgh1234' },
  'cloud.test': {},
  'cloud.outbox': {},
  'cloud.sync': {},
  'line.test': {},
  'label.testPrinter': {},
};

describe('engineer rights are enforced in the core', () => {
  it('refuses every engineer method to an operator session with FORBIDDEN', async () => {
    const { app } = fresh();
    const engineerMethods = METHOD_NAMES.filter((m) => METHODS[m].role === 'engineer');
    expect(engineerMethods.length).toBeGreaterThanOrEqual(10);
    for (const m of engineerMethods) {
      expect(SAMPLE[m], `a sample request for ${m}`).toBeDefined();
      const r = await app.call(m, SAMPLE[m]);
      expect(!r.ok && r.error.code, m).toBe('FORBIDDEN');
    }
  });

  it('sets a first PIN, unlocks only with the right PIN, and locks again', async () => {
    const { app, dataDir } = fresh();
    expect((await app.invoke('session.get', {})).ok && (await app.invoke('session.get', {}))).toMatchObject({
      value: { pinSet: false, role: 'operator' },
    });
    const wrongBefore = await app.invoke('session.unlock', { pin: '1234' });
    expect(!wrongBefore.ok && wrongBefore.error.code).toBe('PIN_NOT_SET');

    const set = await app.invoke('session.setPin', { pin: '4711' });
    expect(set.ok && set.value.role).toBe('engineer');
    // The file holds a scrypt hash, never the PIN.
    const stored = readFileSync(join(dataDir, SETTINGS_FILE), 'utf8');
    expect(stored).not.toContain('4711');
    expect(JSON.parse(stored).pin).toMatchObject({ algorithm: 'scrypt', N: 32768 });

    await app.invoke('session.lock', {});
    expect((await app.call('settings.get', {})).ok).toBe(false);
    // An operator cannot overwrite an existing PIN.
    const hijack = await app.invoke('session.setPin', { pin: '0000' });
    expect(!hijack.ok && hijack.error.code).toBe('FORBIDDEN');

    const wrong = await app.invoke('session.unlock', { pin: '1111' });
    expect(!wrong.ok && wrong.error.code).toBe('PIN_WRONG');
    expect(app.session.role).toBe('operator');
    const right = await app.invoke('session.unlock', { pin: '4711' });
    expect(right.ok && right.value.role).toBe('engineer');
    expect((await app.invoke('settings.get', {})).ok).toBe(true);
  });

  it('pauses the unlock after five wrong PINs', async () => {
    const { app } = fresh();
    await app.invoke('session.setPin', { pin: '4711' });
    await app.invoke('session.lock', {});
    for (let i = 0; i < 5; i++) await app.invoke('session.unlock', { pin: '0000' });
    const r = await app.invoke('session.unlock', { pin: '4711' });
    expect(!r.ok && r.error.code).toBe('PIN_LOCKED_OUT');
    expect(app.session.role).toBe('operator');
  });

  it('audits engineer actions (without secrets) and refused attempts', async () => {
    const tokens = memoryTokenStore();
    const { app } = fresh({ tokenStore: tokens });
    await app.call('settings.get', {});
    await app.invoke('session.setPin', { pin: '4711' });
    await app.invoke('settings.update', { stationName: 'line-7', slotLabels: { '1-1.1': 'A1' } });
    await app.invoke('cloud.setToken', { token: 'secret-token-value' });
    expect(await tokens.get()).toBe('secret-token-value');
    const audit = await app.invoke('audit.list', {});
    expect(audit.ok).toBe(true);
    if (!audit.ok) return;
    const actions = audit.value.map((a) => `${a.actor}:${a.action}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'operator:settings.get',
        'engineer:pin-set',
        'engineer:settings.update',
        'engineer:cloud.setToken',
      ]),
    );
    expect(JSON.stringify(audit.value)).not.toContain('secret-token-value');
    expect(JSON.stringify(audit.value)).not.toContain('4711');
    const settings = await app.invoke('settings.get', {});
    expect(settings.ok && settings.value).toMatchObject({
      stationName: 'line-7',
      slotLabels: { '1-1.1': 'A1' },
      pinSet: true,
      tokenStored: true,
    });
  });

  it('creates and edits a profile: problems in words, an edit drops the lock', async () => {
    const { app, dataDir } = fresh({ role: 'engineer' });
    const path = join(dataDir, 'new.profile.json');
    const bad = await app.invoke('profile.save', {
      path,
      profile: { schemaVersion: 1, product: { id: -1 } },
    });
    expect(!bad.ok && bad.error.code).toBe('PROFILE_INVALID');
    expect(!bad.ok && bad.error.message).toMatch(/product/);
    const good = await app.invoke('profile.save', {
      path,
      profile: {
        schemaVersion: 1,
        product: { id: 777, name: 'Edited Widget' },
        platform: 'boron',
        provisioningMode: 'ota-on-setup',
        registration: { mode: 'offline' },
        lock: { profileHash: 'f'.repeat(64), lockedAt: new Date().toISOString() },
      },
    });
    expect(good.ok).toBe(true);
    if (!good.ok) return;
    expect(good.value.profile.product.name).toBe('Edited Widget');
    expect(good.value.profile.locked).toBe(false);
    expect(good.value.readiness.items.find((i) => i.id === 'questions')?.ok).toBe(false);
    const read = await app.invoke('profile.read', {});
    expect(read.ok && read.value.profile).toMatchObject({ platform: 'boron', product: { id: 777 } });
    expect(read.ok && 'lock' in read.value.profile).toBe(false);
  });

  it('refuses a slot label for something that is not a port path', async () => {
    const { app } = fresh({ role: 'engineer' });
    const r = await app.call('settings.update', { slotLabels: { 'not a port': 'A1' } });
    expect(!r.ok && r.error.code).toBe('INVALID_REQUEST');
  });
});
