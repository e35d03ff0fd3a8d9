import { appendFileSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { askMissing, type InitAnswers } from '../../../core/cli/commands/profile';
import type { CliIo } from '../../../core/cli/io';
import { runCli } from '../../../core/cli/main';
import { startMockCloud } from '../../../core/cloud/mock-server';
import { makeProductFolder } from '../../station/profile-fixtures';

const captureIo = (cwd: string, env: Record<string, string> = {}) => {
  const out: string[] = [];
  const errs: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => errs.push(l), isTTY: false, env, cwd };
  return { io, out, errs, text: () => out.join('\n') };
};

/** A folder with firmware files but no profile yet, as an engineer starts. */
const firmwareFolder = () => {
  const src = makeProductFolder();
  const dir = mkdtempSync(join(tmpdir(), 'ls-cli-profile-'));
  mkdirSync(join(dir, 'fw'));
  copyFileSync(join(src.dir, 'system-part1.bin'), join(dir, 'fw', 'system-part1.bin'));
  copyFileSync(join(src.dir, 'app.bin'), join(dir, 'fw', 'app.bin'));
  return dir;
};

const INIT = [
  'profile',
  'init',
  '--out',
  'line/profile.json',
  '--org',
  'Acme',
  '--product-id',
  '12345',
  '--name',
  'Widget',
  '--platform',
  'boron',
  '--mode',
  'flash-on-line',
  '--auth',
  'simple',
  '--no-private-beta',
  '--offline',
  '--no-development',
  '--group',
  'a',
  '--group',
  'b',
  'fw/system-part1.bin',
  'fw/app.bin',
];

describe('linestation profile', () => {
  it('init writes a profile from flags, with firmware paths relative to it and pinned', async () => {
    const dir = firmwareFolder();
    mkdirSync(join(dir, 'line'));
    const c = captureIo(dir);
    expect(await runCli(INIT, c.io)).toBe(0);
    const profile = JSON.parse(readFileSync(join(dir, 'line', 'profile.json'), 'utf8'));
    expect(profile.product).toEqual({ id: 12345, name: 'Widget' });
    expect(profile.groups).toEqual(['a', 'b']);
    expect(profile.privateBeta).toBe(false);
    expect(profile.development).toBe(false);
    expect(profile.registration).toEqual({ mode: 'offline' });
    expect(profile.firmware.map((f: { path: string }) => f.path)).toEqual([
      '../fw/system-part1.bin',
      '../fw/app.bin',
    ]);
    expect(profile.firmware.every((f: { sha256: string }) => /^[0-9a-f]{64}$/.test(f.sha256))).toBe(true);
    expect(c.text()).toMatch(/Wrote .*profile.json \(2 firmware files pinned\)/);
  });

  it('init without a terminal leaves unasked questions open and says which', async () => {
    const dir = firmwareFolder();
    const c = captureIo(dir);
    const code = await runCli(
      [
        'profile',
        'init',
        '--out',
        'p.json',
        '--product-id',
        '5',
        '--name',
        'N',
        '--platform',
        'p2',
        '--json',
      ],
      c.io,
    );
    expect(code).toBe(0);
    const result = JSON.parse(c.text());
    expect(result.unanswered).toEqual([
      'organization',
      'mode',
      'auth',
      'privateBeta',
      'registration',
      'development',
    ]);
  });

  it('init refuses to overwrite, and rejects contradictory or missing flags', async () => {
    const dir = firmwareFolder();
    const c = captureIo(dir);
    const base = [
      'profile',
      'init',
      '--out',
      'p.json',
      '--product-id',
      '5',
      '--name',
      'N',
      '--platform',
      'boron',
    ];
    expect(await runCli(base, c.io)).toBe(0);
    expect(await runCli(base, c.io)).toBe(2);
    expect(c.errs.join('\n')).toMatch(/PROFILE_EXISTS/);
    expect(await runCli([...base, '--force', '--offline', '--token-env', 'T'], c.io)).toBe(1);
    expect(await runCli([...base, '--force', '--cloud', 'http://127.0.0.1:1'], c.io)).toBe(1);
    expect(await runCli(['profile', 'init', '--out', 'q.json', '--name', 'N'], c.io)).toBe(1);
    expect(await runCli([...base, '--force', '--platform', 'toaster'], c.io)).toBe(1);
    expect(await runCli([...base, '--force', 'fw/none.bin'], c.io)).toBe(1);
    expect(await runCli([...base, '--force', '--product-id', 'abc'], c.io)).toBe(1);
  });

  it('check prints the checklist and exits 3 until the profile is locked, then lock makes it 0', async () => {
    const dir = firmwareFolder();
    const c = captureIo(dir);
    mkdirSync(join(dir, 'line'));
    expect(await runCli(INIT, c.io)).toBe(0);
    const check = captureIo(dir);
    expect(await runCli(['profile', 'check', 'line/profile.json'], check.io)).toBe(3);
    expect(check.text()).toMatch(/\[FAIL\] The profile is locked/);
    expect(check.text()).toMatch(/NOT READY: 1 item open/);

    const lock = captureIo(dir);
    expect(await runCli(['profile', 'lock', 'line/profile.json'], lock.io)).toBe(0);
    expect(lock.text()).toMatch(/^Locked .*profile hash [0-9a-f]{64}/);

    const json = captureIo(dir);
    expect(await runCli(['profile', 'check', 'line/profile.json', '--json'], json.io)).toBe(0);
    const parsed = JSON.parse(json.text());
    expect(parsed.ready).toBe(true);
    expect(parsed.items.every((i: { status: string }) => i.status === 'ok')).toBe(true);

    appendFileSync(join(dir, 'fw', 'app.bin'), 'tamper');
    const tampered = captureIo(dir);
    expect(await runCli(['profile', 'check', 'line/profile.json'], tampered.io)).toBe(3);
    expect(tampered.text()).toMatch(/TAMPERED/);
    const relock = captureIo(dir);
    expect(await runCli(['profile', 'lock', 'line/profile.json', '--json'], relock.io)).toBe(2);
    expect(JSON.parse(relock.text()).error.code).toBe('PROFILE_TAMPERED');
  });

  it('check reads the token variable from the environment it is given', async () => {
    const f = makeProductFolder({
      profile: { registration: { mode: 'cloud', apiBaseUrl: 'http://127.0.0.1:9', tokenEnv: 'LS_TOKEN' } },
    });
    const without = captureIo(f.dir);
    await runCli(['profile', 'check', f.profilePath, '--json'], without.io);
    const item = JSON.parse(without.text()).items.find((i: { id: string }) => i.id === 'registration');
    expect(item.status).toBe('fail');
    const withToken = captureIo(f.dir, { LS_TOKEN: 'abc' });
    await runCli(['profile', 'check', f.profilePath, '--json'], withToken.io);
    expect(
      JSON.parse(withToken.text()).items.find((i: { id: string }) => i.id === 'registration').status,
    ).toBe('ok');
  });

  it('check names a missing profile and exits 4', async () => {
    const c = captureIo(tmpdir());
    expect(await runCli(['profile', 'check', 'nope/profile.json'], c.io)).toBe(4);
    expect(c.errs.join('\n')).toMatch(/PROFILE_NOT_FOUND/);
    expect(existsSync(join(tmpdir(), 'nope'))).toBe(false);
  });

  it('lock refuses a profile whose checklist fails, exit 2', async () => {
    const f = makeProductFolder({ firmwareProductId: 777 });
    const c = captureIo(f.dir);
    expect(await runCli(['profile', 'lock', f.profilePath], c.io)).toBe(2);
    expect(c.errs.join('\n')).toMatch(/PROFILE_NOT_LOCKABLE/);
  });

  it("asks the profile's cloud whether an OTA-on-setup product has a released firmware", async () => {
    const cloud = await startMockCloud({
      products: [{ id: 12345, slug: 'acme-tracker', releasedFirmware: 2 }],
      tokens: [{ token: 'tok' }],
    });
    try {
      const f = makeProductFolder({
        mode: 'ota-on-setup',
        noFirmware: true,
        profile: { registration: { mode: 'cloud', apiBaseUrl: cloud.url, tokenEnv: 'LS_TOKEN' } },
      });
      const env = { LS_TOKEN: 'tok' };
      expect(await runCli(['profile', 'lock', f.profilePath], captureIo(f.dir, env).io)).toBe(0);
      const c = captureIo(f.dir, env);
      expect(await runCli(['profile', 'check', f.profilePath], c.io)).toBe(0);
      expect(c.text()).toMatch(/\[ ok \] The product has a released default firmware/);
      const offlineAnswer = captureIo(f.dir, {});
      expect(await runCli(['profile', 'check', f.profilePath], offlineAnswer.io)).toBe(3);
    } finally {
      await cloud.close();
    }
  });

  it('asks on a terminal only for what the flags left open, re-asking after a bad answer', async () => {
    const script = [
      'toaster',
      'boron',
      'Acme',
      'usb-stick',
      'flash-on-line',
      'simple',
      'maybe',
      'n',
      'y',
      '',
      'a'.repeat(40),
      'PARTICLE_TOKEN',
      'no',
    ];
    const questions: string[] = [];
    const said: string[] = [];
    const start: InitAnswers = { out: 'p.json', productId: 5, name: 'Widget', groups: [], firmware: [] };
    const answers = await askMissing(
      start,
      async (q) => {
        questions.push(q);
        const next = script.shift();
        if (next === undefined) throw new Error(`unexpected question: ${q}`);
        return next;
      },
      (line) => said.push(line),
    );
    expect(script).toEqual([]);
    expect(questions.some((q) => q.startsWith('Product ID'))).toBe(false);
    expect(said).toHaveLength(4);
    expect(answers).toEqual({
      ...start,
      platform: 'boron',
      organization: 'Acme',
      mode: 'flash-on-line',
      auth: 'simple',
      privateBeta: false,
      registration: { mode: 'cloud', apiBaseUrl: 'https://api.particle.io', tokenEnv: 'PARTICLE_TOKEN' },
      development: false,
    });
  });
});
