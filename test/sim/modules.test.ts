import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SimDevice } from '../../core/sim';
import { SimFlash } from '../../core/sim';
import { mergeModules, readModuleAt } from '../../core/sim/modules';
import { dfu, erase, fastDevice, nextConnect, writeBlock } from './helpers';

const FIXTURES = join(__dirname, '../../../shared/fixtures/particle-binaries');

/** Flashes `image` at `address` with DfuSe requests (erase the sectors, 4 KB blocks), then leaves. */
const flashAndLeave = async (d: SimDevice, address: number, image: Uint8Array) => {
  for (let a = address - (address % 4096); a < address + image.length; a += 4096) await erase(d, a);
  for (let o = 0; o < image.length; o += 4096) {
    const r = await writeBlock(d, address + o, image.subarray(o, o + 4096));
    expect(r).toMatchObject({ status: 0 });
  }
  const back = nextConnect(d);
  await dfu(d).dnload(2, new Uint8Array(0));
  await dfu(d).getStatus();
  await back;
};

describe.skipIf(!existsSync(FIXTURES))(
  'MODULE_INFO after a DFU session (real binaries from ../shared)',
  () => {
    const load = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));
    /** binary-version-reader's reading of each file: `fwUniqueId` is the suffix SHA-256. */
    const expected = (
      existsSync(FIXTURES) ? JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) : {}
    ) as Record<string, { fwUniqueId: string }>;
    const suffixSha = (name: string) => Buffer.from(expected[name]?.fwUniqueId ?? '', 'hex');

    it('a Tracker comes back reporting the user part just written', async () => {
      const d = fastDevice('tracker', { mode: 'dfu' });
      await flashAndLeave(d, 0xb4000, load('tracker-tinker@5.3.1.bin'));
      const user = d.modules.filter((m) => m.func === 5);
      expect(user).toEqual([
        {
          func: 5,
          index: 2,
          version: 6,
          size: 0xb5ad6 - 0xb4000 + 4,
          maxSize: 256 * 1024,
          dependencies: [{ func: 4, index: 1, version: 5301 }],
          // Device OS ≥ 5.6 reports the SHA-256 stored in the module suffix.
          hash: new Uint8Array(suffixSha('tracker-tinker@5.3.1.bin')),
        },
      ]);
    });

    it('a P2 user part (grows down to 0x08600000) is found where its download started', async () => {
      const d = fastDevice('p2', { mode: 'dfu' });
      await flashAndLeave(d, 0x085f4000, load('p2-tinker@5.3.1.bin'));
      expect(d.modules.find((m) => m.func === 5)).toMatchObject({
        index: 1,
        version: 6,
        size: 0x85ffffc - 0x85f4000 + 4,
      });
    });

    it('a corrupted image is reported with a failed integrity check', async () => {
      const d = fastDevice('tracker', {
        mode: 'dfu',
        faults: { flipBitAfterProgram: { address: 0xb4100, bit: 2 } },
      });
      await flashAndLeave(d, 0xb4000, load('tracker-tinker@5.3.1.bin'));
      expect(d.modules.find((m) => m.func === 5)?.failedFlags).toBe(0x02);
    });
  },
);

describe('readModuleAt / mergeModules', () => {
  it('ignores memory without a prefix for this platform', () => {
    const f = new SimFlash('@F /0x0/16*004Kg');
    expect(readModuleAt(f, 0, 12)).toBeUndefined();
    const prefix = new Uint8Array(24);
    const v = new DataView(prefix.buffer);
    v.setUint32(0, 0, true);
    v.setUint32(4, 100, true);
    v.setUint16(12, 13, true); // boron, not argon
    prefix[14] = 5;
    f.preload(0, prefix);
    expect(readModuleAt(f, 0, 12)).toBeUndefined();
    expect(readModuleAt(f, 0, 13)).toMatchObject({ func: 5, size: 104, failedFlags: 0x02 });
  });

  it('a new user part replaces every user part; other modules replace by function and index', () => {
    const merged = mergeModules(
      [
        { func: 4, index: 1, version: 1, size: 1 },
        { func: 5, index: 1, version: 1, size: 1, maxSize: 9 },
      ],
      [
        { func: 5, index: 2, version: 7, size: 2 },
        { func: 4, index: 1, version: 3, size: 3 },
      ],
    );
    expect(merged.map((m) => [m.func, m.index, m.version, m.maxSize])).toEqual([
      [4, 1, 3, undefined],
      [5, 2, 7, 9],
    ]);
  });
});
