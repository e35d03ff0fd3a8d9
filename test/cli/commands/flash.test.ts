import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../../core/cli/io';
import { runCli } from '../../../core/cli/main';
import { buildModule } from '../../../core/firmware';

/** The `linestation flash` command (core/cli/commands/flash.ts), run in-process with captured output. */
const run = async (args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    isTTY: false,
    env: {},
    cwd: process.cwd(),
  };
  const code = await runCli(['flash', ...args], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
};

const dir = mkdtempSync(join(tmpdir(), 'ls-flash-'));
const boronUser = join(dir, 'boron-user.bin');
writeFileSync(boronUser, buildModule({ platformId: 13, function: 'user', bodySize: 9000, seed: 1 }));

describe('linestation flash', () => {
  it('--simulate flashes and verifies, printing per-phase timings as JSON (exit 0)', async () => {
    const r = await run([boronUser, '--simulate', '--sim-time-scale', '0', '--json']);
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as {
      ok: boolean;
      verified: boolean;
      device: { platform: string };
      timings: Record<string, number>;
      images: { label: string; verified: boolean }[];
    };
    expect(json).toMatchObject({
      ok: true,
      verified: true,
      device: { platform: 'boron' },
      backInNormalMode: true,
    });
    expect(Object.keys(json.timings).sort()).toEqual([
      'downloadMs',
      'eraseMs',
      'leaveMs',
      'totalMs',
      'verifyMs',
    ]);
    // Device OS ≥ 3.1 user part on Gen 3: the old 0xD4000 user part is invalidated first.
    expect(json.images.map((i) => i.verified)).toEqual([true, true]);
  });

  it('asks a device in normal mode to enter DFU mode first, then confirms it comes back', async () => {
    const r = await run([boronUser, '--simulate', '--sim-mode', 'normal', '--sim-time-scale', '0']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('to enter DFU mode');
    expect(r.out).toMatch(/Back in normal mode after/);
  });

  it('--no-confirm skips waiting for the device to come back', async () => {
    const r = await run([boronUser, '--simulate', '--sim-time-scale', '0', '--no-confirm', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).not.toHaveProperty('backInNormalMode');
  });

  it('prints progress lines with speed and ETA when not on a terminal', async () => {
    const r = await run([boronUser, '--simulate', '--sim-time-scale', '0']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^.*boron-user\.bin \(DFU\): download: .* KB\/s ETA/m);
    expect(r.out).toMatch(/^Flashed and verified 2 image\(s\)/);
  });

  it('installs a whole set: prints the plan first, the bootloader in normal mode, then DFU (exit 0)', async () => {
    const bootloader = join(dir, 'boron-bootloader.bin');
    writeFileSync(
      bootloader,
      buildModule({
        platformId: 13,
        function: 'bootloader',
        version: 3100,
        bodySize: 3000,
        // Device OS finds a Gen 3 prefix at 0x200 only behind a vector table.
        initialStackPointer: 0x2003fc00,
      }),
    );
    const r = await run([bootloader, boronUser, '--simulate', '--sim-time-scale', '0']);
    expect(r.code).toBe(0);
    const planAt = r.err.indexOf('Plan for the Boron');
    expect(planAt).toBeGreaterThanOrEqual(0);
    expect(r.err).toMatch(/1\. normal +bootloader 0 v3100/);
    // The plan is printed before anything is written.
    expect(planAt).toBeLessThan(r.err.indexOf('boron-bootloader.bin (normal mode)'));
    expect(r.out).toMatch(/boron-bootloader\.bin: normal mode, written/);
    expect(r.out).toMatch(/boron-user\.bin: DFU, written/);
    const json = JSON.parse(
      (await run([bootloader, boronUser, '--simulate', '--sim-time-scale', '0', '--json'])).out,
    ) as { modules: { name: string; path: string; outcome: string }[]; plan: { steps: { path: string }[] } };
    expect(json.plan.steps.map((st) => st.path)).toEqual(['normal', 'dfu', 'dfu']);
    expect(json.modules.map((m) => `${m.path}:${m.outcome}`)).toEqual([
      'normal:written',
      'dfu:written',
      'dfu:written',
    ]);
  });

  it('bench-flashes a lone system part (a set without an application is a product rule, not a flash one)', async () => {
    const system = join(dir, 'boron-system.bin');
    writeFileSync(
      system,
      buildModule({
        platformId: 13,
        function: 'system',
        index: 1,
        version: 6201,
        bodySize: 4000,
        initialStackPointer: 0x2003fc00,
      }),
    );
    const r = await run([system, '--simulate', '--sim-mode', 'dfu', '--sim-time-scale', '0']);
    expect(r.err).not.toContain('FIRMWARE_NO_APPLICATION');
    expect(r.code).toBe(0);
  });

  it('refuses a module whose dependency the device says it lacks (exit 2, nothing written)', async () => {
    const needsNewer = join(dir, 'boron-user-needs-9999.bin');
    writeFileSync(
      needsNewer,
      buildModule({
        platformId: 13,
        function: 'user',
        bodySize: 2000,
        dependencies: [{ function: 'system', index: 1, version: 9999 }],
      }),
    );
    const refused = await run([needsNewer, '--simulate', '--sim-time-scale', '0', '--json']);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.out)).toMatchObject({
      ok: false,
      error: { code: 'FIRMWARE_DEVICE_DEPENDENCY_UNMET' },
    });
  });

  it('flashes a device in DFU mode, which cannot list what it runs, saying what it could not check first', async () => {
    const r = await run([boronUser, '--simulate', '--sim-mode', 'dfu', '--sim-time-scale', '0']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/Not checked before writing: .*needs system part 1/);
    const told = await run([
      boronUser,
      '--simulate',
      '--sim-mode',
      'dfu',
      '--sim-time-scale',
      '0',
      '--device-os',
      '6201',
    ]);
    expect(told.code).toBe(0);
    expect(told.err).not.toMatch(/Not checked before writing/);
  });

  it('refuses files for another platform than --platform (exit 2)', async () => {
    const r = await run([boronUser, '--simulate', '--platform', 'photon', '--sim-time-scale', '0']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('FIRMWARE_WRONG_PLATFORM');
  });

  it('wants exactly one target (exit 1)', async () => {
    expect((await run([boronUser])).code).toBe(1);
    expect((await run([boronUser, '--simulate', '--port', '1-1'])).code).toBe(1);
  });

  it('on this machine, a real device cannot be reached: USB_UNAVAILABLE (exit 3)', async () => {
    const r = await run([boronUser, '--device', 'e00fce68ffffffffffffffff', '--json']);
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, error: { code: 'USB_UNAVAILABLE' } });
  });
});
