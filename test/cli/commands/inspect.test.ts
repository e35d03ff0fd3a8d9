import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../core/cli/io';
import { runCli } from '../../../core/cli/main';
import { buildDfuse, buildModule, patternBytes } from '../../../core/firmware/builder';

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
      /DFU plan:\n {2}1\. 0x000D4000 alt 0 {2}4096 bytes {2}erase the pre-3\.1 user part/,
    );
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
