import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventName } from '../../core/contract/events';
import { buildDfuse, buildModule, inspectBytes, inspectFile } from '../../core/firmware/index';
import { makeProductFolder } from '../station/profile-fixtures';
import { createAppService } from './temp-service';

describe('app service', () => {
  it('refuses an unknown method with UNKNOWN_METHOD', async () => {
    const app = createAppService();
    const r = await app.call('profile.delete', {});
    expect(!r.ok && r.error.code).toBe('UNKNOWN_METHOD');
    expect((await app.call('constructor', {})).ok).toBe(false);
  });

  it('validates requests with the contract before any handler runs', async () => {
    const app = createAppService({ role: 'engineer' });
    const r = await app.call('profile.load', { path: 42 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INVALID_REQUEST');
    expect(r.error.message).toMatch(/path/);
  });

  it('refuses engineer methods to an operator with FORBIDDEN, and allows them after the grant', async () => {
    const f = makeProductFolder();
    const app = createAppService({ env: {} });
    const refused = await app.call('profile.lock', { path: f.profilePath });
    expect(!refused.ok && refused.error.code).toBe('FORBIDDEN');
    expect(!refused.ok && refused.error.remedy).toMatch(/engineer/);
    app.session.grantEngineer('test');
    const locked = await app.invoke('profile.lock', { path: f.profilePath });
    expect(locked.ok && locked.value.profile.locked).toBe(true);
  });

  it('answers profile.current with null until a profile is loaded', async () => {
    const app = createAppService();
    const r = await app.invoke('profile.current', {});
    expect(r).toEqual({ ok: true, value: null });
    const check = await app.invoke('profile.check', {});
    expect(!check.ok && check.error.code).toBe('NO_PROFILE');
  });

  it('shows the current profile with its checklist, re-read from disk each time', async () => {
    const f = makeProductFolder();
    const app = createAppService({ profilePath: f.profilePath, env: {}, role: 'engineer' });
    await app.invoke('profile.lock', {});
    const first = await app.invoke('profile.current', {});
    expect(first.ok).toBe(true);
    if (!first.ok || !first.value) return;
    const { profile, readiness } = first.value;
    expect(profile.product).toEqual({ id: 12345, slug: 'acme-tracker', name: 'Acme Field Tracker' });
    expect(profile.platform).toEqual({ name: 'boron', id: 13, displayName: 'Boron' });
    expect(profile.firmware.map((x) => [x.path, x.module?.kind, x.module?.productId])).toEqual([
      ['system-part1.bin', 'system', undefined],
      ['app.bin', 'user', 12345],
    ]);
    expect(readiness.ready).toBe(true);

    appendFileSync(join(f.dir, f.files.user as string), 'x');
    const second = await app.invoke('profile.current', {});
    expect(second.ok && second.value?.profile.tampered).toBe(true);
    expect(second.ok && second.value?.readiness.ready).toBe(false);
  });

  it('emits profile.changed when an engineer loads a profile', async () => {
    const f = makeProductFolder();
    const app = createAppService({ role: 'engineer', env: {} });
    const seen: EventName[] = [];
    const off = app.on((event) => seen.push(event));
    const r = await app.invoke('profile.load', { path: f.profilePath });
    expect(r.ok).toBe(true);
    expect(seen).toEqual(['profile.changed']);
    off();
    await app.invoke('profile.load', { path: f.profilePath });
    expect(seen).toHaveLength(1);
    const current = await app.invoke('profile.current', {});
    expect(current.ok && current.value?.profile.path).toBe(f.profilePath);
  });

  it('passes load errors through as values with their codes', async () => {
    const app = createAppService({ role: 'engineer', cwd: '/nonexistent' });
    const r = await app.invoke('profile.load', { path: 'missing.json' });
    expect(!r.ok && r.error.code).toBe('PROFILE_NOT_FOUND');
    expect(!r.ok && r.error.message).toContain('/nonexistent/missing.json');
  });

  it('uses the injected cloud check for OTA-on-setup profiles', async () => {
    const f = makeProductFolder({ mode: 'ota-on-setup', noFirmware: true });
    const app = createAppService({
      profilePath: f.profilePath,
      env: {},
      role: 'engineer',
      releasedFirmwareCheck: async () => 'released',
    });
    const locked = await app.invoke('profile.lock', {});
    expect(locked.ok && locked.value.readiness.ready).toBe(true);
  });

  it('inspects firmware for engineers', async () => {
    const f = makeProductFolder();
    const app = createAppService({ role: 'engineer', cwd: f.dir });
    const r = await app.invoke('firmware.inspect', { path: 'app.bin' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.modules).toEqual([
      expect.objectContaining({ kind: 'user', platformId: 13, productId: 12345, productVersion: 3 }),
    ]);
    expect(r.value.sha256).toMatch(/^[0-9a-f]{64}$/);
    const bad = await app.invoke('firmware.inspect', { path: 'profile.json' });
    expect(!bad.ok && bad.error.code).toMatch(/^FIRMWARE_/);
  });

  it('catches a handler that answers outside the contract', async () => {
    const f = makeProductFolder();
    const app = createAppService({
      role: 'engineer',
      cwd: f.dir,
      firmware: {
        // A module with a negative index cannot be described by the contract's view.
        inspect: async (path) => {
          const real = await inspectFile(path);
          if (!real.module) throw new Error('fixture: expected a module');
          return { ...real, images: [], module: { ...real.module, index: -1 } };
        },
        validateFile: () => [],
        validateSet: () => [],
      },
    });
    const r = await app.invoke('firmware.inspect', { path: 'app.bin' });
    expect(!r.ok && r.error.code).toBe('INTERNAL');
    expect(!r.ok && r.error.message).toMatch(/breaks the contract/);
  });

  it('lists every module of a .dfu file in the profile view', async () => {
    const f = makeProductFolder({ withSystemPart: false });
    const system = buildModule({ platformId: 13, function: 'system', index: 1, version: 5600 });
    const user = buildModule({ platformId: 13, function: 'user', product: { id: 12345, version: 3 } });
    const at = (bytes: Uint8Array) => {
      const m = inspectBytes('x.bin', bytes).module;
      if (!m) throw new Error('fixture: not a module');
      return m.startAddress;
    };
    writeFileSync(
      join(f.dir, 'app.bin'),
      buildDfuse({
        targets: [
          {
            alt: 0,
            elements: [
              { address: at(system), data: system },
              { address: at(user), data: user },
            ],
          },
        ],
      }),
    );
    const app = createAppService({ profilePath: f.profilePath, env: {} });
    const r = await app.invoke('profile.current', {});
    if (!r.ok || !r.value) throw new Error('expected a profile');
    const file = r.value.profile.firmware[0];
    expect(file?.modules.map((m) => m.kind)).toEqual(['system', 'user']);
    expect(file?.module?.kind).toBe('system');
  });
});
