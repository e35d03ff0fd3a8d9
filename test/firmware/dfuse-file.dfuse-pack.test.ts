import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../core/cli/io';
import { runCli } from '../../core/cli/main';
import { writeImages } from '../../core/dfu';
import { buildModule, patternBytes } from '../../core/firmware/builder';
import { parseDfuse } from '../../core/firmware/dfuse-file';
import { inspectFile } from '../../core/firmware/inspect';
import { flashBytes, openSim } from '../dfu/helpers';

/*
 * .dfu files made by dfu-util's own dfuse-pack (Debian's dfu-util package ships it; .ci/run
 * installs it), read by the parser and written by the DFU engine to a simulated device: every byte
 * of every element must land at its address on its alt setting.
 */

const hasDfusePack = (() => {
  const r = spawnSync('dfuse-pack', ['--help'], { encoding: 'utf8' });
  return !r.error && r.status === 0;
})();

interface PackElement {
  address: number;
  alt: number;
  data: Uint8Array;
}

let dir = '';
let serial = 0;

/** Runs `dfuse-pack -b 0xADDR@ALT:file ... -D vid:pid out.dfu` and returns the file's path. */
const pack = (elements: PackElement[], device: string): string => {
  const args: string[] = [];
  for (const e of elements) {
    const bin = join(dir, `element-${++serial}.bin`);
    writeFileSync(bin, e.data);
    args.push('-b', `0x${e.address.toString(16)}@${e.alt}:${bin}`);
  }
  const out = join(dir, `pack-${++serial}.dfu`);
  const r = spawnSync('dfuse-pack', [...args, '-D', device, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dfuse-pack failed: ${r.stdout}${r.stderr}`);
  return out;
};

/** Writes every image of an inspected .dfu to a simulated device, then reads each element back. */
const flashAndReadBack = async (platform: string, path: string, elements: PackElement[]) => {
  const f = await inspectFile(path);
  expect(f.error).toBeUndefined();
  expect(f.images.map((i) => [i.alt, i.address, i.data.length])).toEqual(
    elements.map((e) => [e.alt, e.address, e.data.length]),
  );
  const { session, device } = await openSim(platform);
  try {
    const r = await writeImages(session, f.images, { leave: false });
    if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
    return elements.map((e) => flashBytes(device, e.alt, e.address, e.data.length));
  } finally {
    await session.close();
  }
};

const expectEveryByte = (read: Uint8Array[], elements: PackElement[]): void => {
  elements.forEach((e, i) => {
    const got = read[i] ?? new Uint8Array();
    expect(got.length).toBe(e.data.length);
    // The first differing byte, so a mismatch fails without printing two multi-kilobyte arrays.
    const firstDiff = got.findIndex((b, j) => b !== e.data[j]);
    expect({ element: i + 1, address: e.address, firstDiff }).toEqual({
      element: i + 1,
      address: e.address,
      firstDiff: -1,
    });
  });
};

describe.skipIf(!hasDfusePack)(
  `DfuSe files from dfuse-pack (${hasDfusePack ? 'installed' : 'skipped: dfuse-pack is not on PATH; the dfu-util package ships it'})`,
  () => {
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'ls-dfuse-pack-'));
    });
    afterAll(() => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('accepts a one-target, one-element file (issue 11: `inspect` called it truncated)', async () => {
      const user = buildModule({
        platformId: 6,
        function: 'user',
        product: { id: 4242, version: 3 },
        bodySize: 5000,
      });
      const elements = [{ address: 0x080a0000, alt: 0, data: user }];
      const path = pack(elements, '0x2B04:0xD006');
      const bytes = new Uint8Array(readFileSync(path));
      const parsed = parseDfuse(path, bytes);
      if (!parsed.ok) throw new Error(`${parsed.error.code}: ${parsed.error.message}`);
      // dfuse-pack counts the suffix in DFUImageSize (UM0391's "total DFU file length").
      expect(parsed.info.imageSize).toBe(bytes.length);
      expect(parsed.info.crc.ok).toBe(true);
      expect(parsed.info.suffix).toMatchObject({ idVendor: 0x2b04, idProduct: 0xd006, bcdDFU: 0x011a });
      expect(parsed.info.targets).toEqual([
        {
          alt: 0,
          name: 'ST...',
          size: 8 + user.length,
          elements: [expect.objectContaining({ address: 0x080a0000 })],
        },
      ]);
      expect(parsed.elements[0]?.data).toEqual(user);
      expectEveryByte(await flashAndReadBack('photon', path, elements), elements);
    });

    it('`linestation inspect` accepts it and validates the user part against the product', async () => {
      const user = buildModule({ platformId: 6, function: 'user', product: { id: 4242, version: 3 } });
      const path = pack([{ address: 0x080a0000, alt: 0, data: user }], '0x2B04:0xD006');
      const out: string[] = [];
      const io: CliIo = { out: (l) => out.push(l), err: (l) => out.push(l), isTTY: false, env: {}, cwd: dir };
      const code = await runCli(
        ['inspect', path, '--platform', 'photon', '--product-id', '4242', '--json'],
        io,
      );
      expect(out.join('\n')).not.toContain('FIRMWARE_TRUNCATED');
      expect(code).toBe(0);
      const [file] = JSON.parse(out.join('\n')) as { kind: string; images: { address: string }[] }[];
      expect(file?.kind).toBe('dfuse');
      expect(file?.images.map((i) => i.address)).toEqual(['0x80a0000']);
    });

    it('accepts one target holding several elements, and writes each at its address', async () => {
      const elements = [
        {
          address: 0x08020000,
          alt: 0,
          data: buildModule({ platformId: 6, function: 'system', index: 1, bodySize: 9000, seed: 2 }),
        },
        {
          address: 0x08060000,
          alt: 0,
          data: buildModule({ platformId: 6, function: 'system', index: 2, bodySize: 7000, seed: 3 }),
        },
        {
          address: 0x080a0000,
          alt: 0,
          data: buildModule({
            platformId: 6,
            function: 'user',
            product: { id: 4242, version: 3 },
            bodySize: 6000,
          }),
        },
        // Not a module: raw bytes, across a 4 KB transfer boundary, at an odd length.
        { address: 0x080c0000, alt: 0, data: patternBytes(4096 * 2 + 3, 9) },
      ];
      const path = pack(elements, '0x2B04:0xD006');
      const parsed = parseDfuse(path, new Uint8Array(readFileSync(path)));
      if (!parsed.ok) throw new Error(`${parsed.error.code}: ${parsed.error.message}`);
      expect(parsed.info.targets.map((t) => [t.alt, t.elements.length])).toEqual([[0, 4]]);
      const f = await inspectFile(path);
      expect(f.images.map((i) => i.module?.function)).toEqual(['system', 'system', 'user', undefined]);
      expectEveryByte(await flashAndReadBack('photon', path, elements), elements);
    });

    it('accepts several targets (alt settings, one of them twice), and writes each element to its alt', async () => {
      const elements = [
        {
          address: 0xb4000,
          alt: 0,
          data: buildModule({
            platformId: 13,
            function: 'user',
            product: { id: 4242, version: 3 },
            bodySize: 5000,
          }),
        },
        { address: 0xf0000, alt: 0, data: patternBytes(300, 4) },
        { address: 0x80001000, alt: 2, data: patternBytes(6000, 5) },
        { address: 0x80003000, alt: 2, data: patternBytes(17, 6) },
        { address: 0x100, alt: 1, data: patternBytes(512, 7) },
        { address: 0xf2000, alt: 0, data: patternBytes(4097, 8) },
      ];
      const path = pack(elements, '0x2B04:0xD00D');
      const parsed = parseDfuse(path, new Uint8Array(readFileSync(path)));
      if (!parsed.ok) throw new Error(`${parsed.error.code}: ${parsed.error.message}`);
      // dfuse-pack starts a new target whenever the alt setting changes.
      expect(parsed.info.targets.map((t) => [t.alt, t.elements.length])).toEqual([
        [0, 2],
        [2, 2],
        [1, 1],
        [0, 1],
      ]);
      expect(parsed.elements.map((e) => [e.alt, e.address, e.data])).toEqual(
        elements.map((e) => [e.alt, e.address, e.data]),
      );
      expectEveryByte(await flashAndReadBack('boron', path, elements), elements);
    });

    it('accepts dfuse-pack’s default ST IDs and wildcard IDs in the suffix: the station does not match them', async () => {
      const data = patternBytes(1000, 3);
      for (const device of ['0x0483:0xdf11', '0xFFFF:0xFFFF']) {
        const f = await inspectFile(pack([{ address: 0x080c0000, alt: 0, data }], device));
        expect(f.error).toBeUndefined();
        expect(f.images[0]?.data).toEqual(data);
      }
    });

    it('still refuses a dfuse-pack file that is cut short, or damaged', async () => {
      const path = pack([{ address: 0x080c0000, alt: 0, data: patternBytes(3000, 3) }], '0x2B04:0xD006');
      const bytes = new Uint8Array(readFileSync(path));
      for (const cut of [1, 8, 16, 17, 100, bytes.length - 20])
        expect(parseDfuse('cut.dfu', bytes.subarray(0, bytes.length - cut))).toMatchObject({
          ok: false,
          error: { code: 'FIRMWARE_TRUNCATED' },
        });
      const damaged = new Uint8Array(bytes);
      damaged[2000] = (damaged[2000] ?? 0) ^ 0x01;
      writeFileSync(join(dir, 'damaged.dfu'), damaged);
      expect((await inspectFile(join(dir, 'damaged.dfu'))).error?.code).toBe('DFUSE_CRC_MISMATCH');
    });
  },
);
