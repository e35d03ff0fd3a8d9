import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../core/cli/io';
import { runCli } from '../../../core/cli/main';
import { buildDfuse, buildModule, patternBytes } from '../../../core/firmware/builder';
import { protectModule } from '../../../core/firmware/protect';

/* The `linestation inspect` command (core/cli/commands/inspect.ts), run through the real CLI entry. */

let dir = '';
const cli = async (...args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false, env: {}, cwd: dir };
  const code = await runCli(['inspect', ...args], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-inspect-'));
  const app = buildModule({
    platformId: 13,
    function: 'user',
    product: { id: 4242, version: 3 },
    dependencies: [{ function: 'system', index: 1, version: 5600 }],
  });
  writeFileSync(join(dir, 'app.bin'), app);
  writeFileSync(
    join(dir, 'system@5.6.0.bin'),
    buildModule({ platformId: 13, function: 'system', version: 5600 }),
  );
  writeFileSync(
    join(dir, 'broken.bin'),
    buildModule({ platformId: 13, function: 'user', corrupt: { crc: true } }),
  );
  writeFileSync(join(dir, 'blob.bin'), patternBytes(64));
  writeFileSync(
    join(dir, 'app.dfu'),
    buildDfuse({
      targets: [{ alt: 0, name: 'Internal Flash', elements: [{ address: 0xb4000, data: app }] }],
    }),
  );
});

describe('linestation inspect', () => {
  it('prints one JSON object per file in the documented shape and exits 0 when all are valid', async () => {
    const r = await cli('app.bin', 'system@5.6.0.bin', 'blob.bin@0x000D4000', 'app.dfu', '--json');
    expect(r.code).toBe(0);
    const files = JSON.parse(r.out) as Record<string, unknown>[];
    expect(files.map((f) => [f.file, f.kind])).toEqual([
      ['app.bin', 'module'],
      ['system@5.6.0.bin', 'module'],
      ['blob.bin', 'raw'],
      ['app.dfu', 'dfuse'],
    ]);
    expect(files[0]).toMatchObject({
      size: expect.any(Number),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      module: {
        platformId: 13,
        platform: 'boron',
        function: 'user',
        index: 1,
        version: 6,
        startAddress: '0xb4000',
        flags: [],
        dependencies: [
          { function: 'system', index: 1, version: 5600 },
          { function: 'none', index: 0, version: 0 },
        ],
        productId: 4242,
        productVersion: 3,
        crc: { ok: true },
        fwUniqueId: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    expect(files[0]).not.toHaveProperty('error');
    expect(files[2]).toMatchObject({ images: [{ address: '0xd4000', size: 64 }] });
  });

  it('exits 2 and names the code when a file is refused', async () => {
    const json = await cli('app.bin', 'broken.bin', '--json');
    expect(json.code).toBe(2);
    const files = JSON.parse(json.out) as { error?: { code: string; message: string } }[];
    expect(files[0]?.error).toBeUndefined();
    expect(files[1]?.error?.code).toBe('FIRMWARE_CRC_MISMATCH');
    const table = await cli('broken.bin');
    expect(table.code).toBe(2);
    expect(table.out).toMatch(/broken\.bin\s+module\s+boron\s+user 1.*REFUSED FIRMWARE_CRC_MISMATCH/);
    expect(table.out).toMatch(/-> The file is damaged/);
  });

  it('validates against a product with --platform/--product-id', async () => {
    const good = await cli('app.bin', '--platform', 'boron', '--product-id', '4242', '--json');
    expect(good.code).toBe(0);
    const wrong = await cli('app.bin', '--platform', 'argon', '--product-id', '4242', '--json');
    expect(wrong.code).toBe(2);
    expect((JSON.parse(wrong.out) as { error: { code: string } }[])[0]?.error.code).toBe(
      'FIRMWARE_WRONG_PLATFORM',
    );
  });

  it('with --set prints the set verdict and the DFU plan in order', async () => {
    const r = await cli(
      'app.bin',
      'system@5.6.0.bin',
      '--platform',
      '13',
      '--product-id',
      '4242',
      '--set',
      '--json',
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as {
      ok: boolean;
      errors: unknown[];
      plan: { label: string; address: string }[];
    };
    expect(out.ok).toBe(true);
    expect(out.plan.map((p) => p.address)).toEqual(['0x30000', '0xd4000', '0xb4000']);
    const missing = await cli('app.bin', '--platform', 'boron', '--product-id', '4242', '--set');
    expect(missing.code).toBe(2);
    expect(missing.out).toMatch(/set: FIRMWARE_DEPENDENCY_UNMET: .*app\.bin needs system part 1 v5600/);
    const stated = await cli(
      'app.bin',
      '--platform',
      'boron',
      '--product-id',
      '4242',
      '--set',
      '--device-os',
      '5600',
    );
    expect(stated.code).toBe(0);
    expect(stated.out).toMatch(
      /Plan: 2 steps \(0 normal, 2 DFU\), about [\d.]+ s\n {2}1\. DFU {5}0x000D4000 alt 0 {2}4096 bytes {2}~[\d.]+ s {2}erase the pre-3\.1 user part/,
    );
  });

  describe('a whole Device OS set', () => {
    const write = (name: string, bytes: Uint8Array) => writeFileSync(join(dir, name), bytes);
    const set = (...args: string[]) =>
      cli(...args, '--platform', 'boron', '--product-id', '4242', '--set', '--json').then((r) => ({
        code: r.code,
        json: JSON.parse(r.out) as {
          ok: boolean;
          errors: { code: string; message: string }[];
          files: { file: string; error?: { code: string } }[];
          plan: { address: string }[];
          steps: Record<string, unknown>[];
          requires: { function: string; index: number; version: number; message: string }[];
          expectedMs: number;
        },
      }));
    const codes = (r: Awaited<ReturnType<typeof set>>) => [
      ...r.json.files.flatMap((f) => (f.error ? [f.error.code] : [])),
      ...r.json.errors.map((e) => e.code),
    ];

    beforeAll(() => {
      write('boot.bin', buildModule({ platformId: 13, function: 'bootloader', version: 3001 }));
      write('boot-2400.bin', buildModule({ platformId: 13, function: 'bootloader', version: 2400 }));
      write('argon-boot.bin', buildModule({ platformId: 12, function: 'bootloader', version: 3001 }));
      write('ncp.bin', buildModule({ platformId: 13, function: 'ncp', version: 5 }));
      write(
        'sys-6101.bin',
        buildModule({
          platformId: 13,
          function: 'system',
          version: 6101,
          dependencies: [{ function: 'bootloader', index: 0, version: 3001 }],
        }),
      );
      write(
        'app-6101.bin',
        buildModule({
          platformId: 13,
          function: 'user',
          product: { id: 4242, version: 3 },
          dependencies: [{ function: 'system', index: 1, version: 6101 }],
        }),
      );
      write(
        'packed.bin',
        buildModule({ platformId: 13, function: 'user', flags: 0x02, product: { id: 4242, version: 3 } }),
      );
    });

    it('prints each step with its path and expected time; --json gives the steps', async () => {
      const r = await set('app-6101.bin', 'sys-6101.bin', 'boot.bin');
      expect(r.code).toBe(0);
      expect(r.json.ok).toBe(true);
      expect(r.json.steps.map((st) => [st.step, st.path, st.kind, st.label])).toEqual([
        [1, 'normal', 'bootloader', 'boot.bin'],
        [2, 'dfu', 'system', 'sys-6101.bin'],
        [3, 'dfu', 'legacy-user-part', 'erase the pre-3.1 user part at 0x000D4000'],
        [4, 'dfu', 'user', 'app-6101.bin'],
      ]);
      expect(r.json.steps[0]).toMatchObject({
        module: { function: 'bootloader', index: 0, version: 3001 },
        size: expect.any(Number),
        expectedMs: expect.any(Number),
        reason: expect.stringMatching(/normal mode/),
      });
      expect(r.json.steps[1]).toMatchObject({ alt: 0, address: '0x30000' });
      // `plan` stays what it was: the images written over DFU, in order.
      expect(r.json.plan.map((p) => p.address)).toEqual(['0x30000', '0xd4000', '0xb4000']);
      expect(r.json.expectedMs).toBeGreaterThan(0);
      const text = await cli(
        'app-6101.bin',
        'sys-6101.bin',
        'boot.bin',
        '--platform',
        'boron',
        '--product-id',
        '4242',
        '--set',
      );
      expect(text.out).toMatch(/Plan: 4 steps \(1 normal, 3 DFU\), about /);
      expect(text.out).toMatch(
        /\n {2}1\. normal {2}bootloader 0 v3001 {2}\d+ bytes {2}~[\d.]+ s {2}boot\.bin/,
      );
    });

    it('says what each device must already run, and takes the device modules with --device-module', async () => {
      const r = await set('app-6101.bin', 'sys-6101.bin');
      expect(r.code).toBe(0);
      expect(r.json.requires).toEqual([
        expect.objectContaining({ function: 'bootloader', index: 0, version: 3001 }),
      ]);
      const text = await cli(
        'app-6101.bin',
        'sys-6101.bin',
        '--platform',
        'boron',
        '--product-id',
        '4242',
        '--set',
      );
      expect(text.out).toMatch(/requires: Every device must already run bootloader 0 v3001 or later/);
      const has = await set('app-6101.bin', 'sys-6101.bin', '--device-module', 'bootloader:0:3100');
      expect([has.code, has.json.requires]).toEqual([0, []]);
      const lacks = await set('app-6101.bin', 'sys-6101.bin', '--device-module', 'bootloader:0:2400');
      expect(lacks.code).toBe(2);
      expect(codes(lacks)).toEqual(['FIRMWARE_DEVICE_DEPENDENCY_UNMET']);
      expect(
        (await cli('app.bin', '--platform', 'boron', '--product-id', '1', '--set', '--device-module', 'boot'))
          .code,
      ).toBe(1);
    });

    it('orders DFU steps first with --in-dfu', async () => {
      const r = await set('app-6101.bin', 'sys-6101.bin', 'boot.bin', '--in-dfu');
      expect(r.json.steps.map((st) => st.path)).toEqual(['dfu', 'dfu', 'dfu', 'normal']);
    });

    it('seals the bootloader with --device-protection and holds the set to the protected minimums', async () => {
      const r = await set('app-6101.bin', 'sys-6101.bin', 'boot.bin', '--device-protection');
      expect(r.code).toBe(0);
      expect(r.json.steps[0]).toMatchObject({ protected: true, path: 'normal' });
      const old = await set('app.bin', 'system@5.6.0.bin', '--device-protection');
      expect(old.code).toBe(2);
      expect(codes(old)).toContain('FIRMWARE_BELOW_PROTECTION_MINIMUM');
    });

    it.each([
      ['a bootloader for another platform', ['argon-boot.bin'], 'FIRMWARE_WRONG_PLATFORM'],
      ['NCP firmware for a platform without an NCP', ['ncp.bin'], 'FIRMWARE_NO_NCP'],
      ['a bootloader older than the system part needs', ['boot-2400.bin'], 'FIRMWARE_DEPENDENCY_UNMET'],
    ])('refuses %s by name (exit 2)', async (_what, extra, code) => {
      const r = await set('app-6101.bin', 'sys-6101.bin', ...extra);
      expect(r.code).toBe(2);
      expect(r.json.ok).toBe(false);
      expect(codes(r)).toEqual([code]);
    });

    it('refuses a protected bootloader for an open product, and a compressed application', async () => {
      const sealed = protectModule(
        'boot.bin',
        buildModule({ platformId: 13, function: 'bootloader', version: 3001 }),
      );
      if (!sealed.ok) throw new Error(sealed.error.message);
      write('boot-protected.bin', sealed.value);
      const prot = await set('app-6101.bin', 'sys-6101.bin', 'boot-protected.bin');
      expect([prot.code, codes(prot)]).toEqual([2, ['FIRMWARE_PROTECTED_BOOTLOADER']]);
      const one = JSON.parse((await cli('boot-protected.bin', '--json')).out) as { module: object }[];
      expect(one[0]?.module).toMatchObject({ securityMode: 1 });
      const packed = await set('packed.bin', 'system@5.6.0.bin');
      expect([packed.code, codes(packed)]).toEqual([2, ['FIRMWARE_COMPRESSED']]);
    });

    it('judges a file against a product by the path it would take, also without --set', async () => {
      const boot = await cli('boot.bin', '--platform', 'boron', '--product-id', '4242');
      expect(boot.code).toBe(0);
      const ncp = await cli('ncp.bin', '--platform', 'boron', '--product-id', '4242', '--json');
      expect(ncp.code).toBe(2);
      expect((JSON.parse(ncp.out) as { error: { code: string } }[])[0]?.error.code).toBe('FIRMWARE_NO_NCP');
    });
  });

  it('exits 1 on usage errors', async () => {
    expect((await cli()).code).toBe(1);
    expect((await cli('app.bin', '--platform', 'boron')).code).toBe(1);
    expect((await cli('app.bin', '--platform', 'nosuch', '--product-id', '1')).code).toBe(1);
    expect((await cli('app.bin', '--product-id', 'abc', '--platform', 'boron')).code).toBe(1);
    const bad = await cli('blob.bin@0xZZ');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/not a 32-bit hex address/);
  });

  it('reports an unreadable file as refused, not as a crash', async () => {
    const r = await cli('missing.bin', '--json');
    expect(r.code).toBe(2);
    expect((JSON.parse(r.out) as { error: { code: string } }[])[0]?.error.code).toBe('FIRMWARE_UNREADABLE');
  });
});
