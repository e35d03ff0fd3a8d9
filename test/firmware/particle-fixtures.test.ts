import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../core/cli/io';
import { runCli } from '../../core/cli/main';
import { inspectFile } from '../../core/firmware/inspect';
import {
  type ExpectedEntry,
  haveParticleBinaries,
  loadExpected,
  particleBinariesDir,
  skipReason,
} from './shared-fixtures';

/*
 * Field-by-field agreement with Particle's own parser (binary-version-reader 3.1.3) on the 34 real
 * binaries, through the library and through the real CLI entry with --json.
 */

interface JsonModule {
  platformId: number;
  function: string | number;
  index: number;
  version: number;
  startAddress: string;
  endAddress: string;
  prefixOffset: number;
  flags: string[];
  dependencies: { function: string | number; index: number; version: number }[];
  productId: number;
  productVersion: number;
  suffixSize: number;
  crc: { ok: boolean; stored: string; actual: string };
  fwUniqueId: string;
}
interface JsonFile {
  file: string;
  size: number;
  sha256: string;
  kind: string;
  module?: JsonModule;
  error?: { code: string; message: string };
}

const FLAG_BITS: Record<string, number> = {
  DROP_MODULE_INFO: 0x01,
  COMPRESSED: 0x02,
  COMBINED: 0x04,
  ENCRYPTED: 0x08,
  PREFIX_EXTENSIONS: 0x10,
};
const flagsValue = (names: string[]): number =>
  names.reduce((n, name) => n | (FLAG_BITS[name] ?? Number.parseInt(name, 16)), 0);

const expectAgreement = (name: string, got: JsonFile, want: ExpectedEntry): void => {
  expect(got.size, name).toBe(want.size);
  expect(got.sha256, name).toBe(want.sha256OfFile);
  if (want.error) {
    expect(got.module, `${name} is refused by Particle's parser, so no module`).toBeUndefined();
    expect(got.error?.code, name).toMatch(/^FIRMWARE_(EMPTY|BAD_EXTENSION)$/);
    return;
  }
  const m = got.module;
  if (!m) throw new Error(`${name}: no module (${got.error?.code}: ${got.error?.message})`);
  expect(m.prefixOffset, name).toBe(want.prefixOffset);
  expect(m.startAddress, name).toBe(want.moduleStartAddress);
  expect(m.endAddress, name).toBe(want.moduleEndAddress);
  expect(flagsValue(m.flags), name).toBe(want.moduleFlags);
  expect(m.version, name).toBe(want.moduleVersion);
  expect(m.platformId, name).toBe(want.platformId);
  expect(m.function, name).toBe(want.moduleFunction);
  expect(m.index, name).toBe(want.moduleIndex);
  expect(m.dependencies, name).toEqual([want.dependency, want.dependency2]);
  expect(m.productId, name).toBe(want.productId);
  expect(m.productVersion, name).toBe(want.productVersion);
  expect(m.suffixSize, name).toBe(want.suffixSize);
  expect(m.fwUniqueId, name).toBe(want.fwUniqueId);
  expect(m.crc, name).toEqual(want.crc);
};

const captureIo = (cwd: string) => {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), isTTY: false, env: {}, cwd };
  return { io, out, err };
};

describe.skipIf(!haveParticleBinaries)(
  `real Particle binaries (${haveParticleBinaries ? 'present' : skipReason})`,
  () => {
    const expected = loadExpected();
    const names = Object.keys(expected);

    it('covers all 34 files of expected.json', () => {
      expect(names).toHaveLength(34);
    });

    it('the CLI `inspect --json` agrees with Particle’s parser on every file', async () => {
      const { io, out, err } = captureIo(particleBinariesDir);
      const code = await runCli(['inspect', ...names, '--json'], io);
      const files = JSON.parse(out.join('\n')) as JsonFile[];
      expect(files.map((f) => f.file)).toEqual(names);
      for (const [i, name] of names.entries())
        expectAgreement(name, files[i] as JsonFile, expected[name] as ExpectedEntry);
      // Some real files are refused on purpose (empty, damaged, unknown platform): exit 2, not a crash.
      expect(code).toBe(2);
      expect(err).toEqual([]);
    });

    it('inspectFile gives the same fields as the CLI', async () => {
      for (const name of names) {
        const f = await inspectFile(join(particleBinariesDir, name), { name });
        const want = expected[name] as ExpectedEntry;
        if (want.error) {
          expect(f.module).toBeUndefined();
          expect(f.error?.code).toBeDefined();
          continue;
        }
        expect(f.module?.startAddress, name).toBe(Number.parseInt(want.moduleStartAddress ?? '', 16));
        expect(f.module?.crc.ok, name).toBe(want.crc?.ok);
      }
    });

    it('refuses exactly the damaged and unknown files, each with a code', async () => {
      const { io, out } = captureIo(particleBinariesDir);
      await runCli(['inspect', ...names, '--json'], io);
      const files = JSON.parse(out.join('\n')) as JsonFile[];
      const refused = Object.fromEntries(files.filter((f) => f.error).map((f) => [f.file, f.error?.code]));
      expect(refused).toEqual({
        '103_system-part1.bin': 'FIRMWARE_UNKNOWN_PLATFORM',
        'RC2_bootloader.bin': 'FIRMWARE_BAD_EXTENSION',
        'RC4_bootloader_pad_BM-09.bin': 'FIRMWARE_CRC_MISMATCH',
        'RC4_bootloader_pad_BM-14.bin': 'FIRMWARE_CRC_MISMATCH',
        'emptybin.bin': 'FIRMWARE_EMPTY',
        'unknown.bin': 'FIRMWARE_SHA_MISMATCH',
      });
    });

    it('exits 0 when every file is valid, and prints a table without --json', async () => {
      const { io, out } = captureIo(particleBinariesDir);
      const code = await runCli(['inspect', 'p2-tinker@5.3.1.bin', 'tracker-tinker@5.3.1.bin'], io);
      expect(code).toBe(0);
      expect(out[0]).toMatch(/^FILE\s+KIND\s+PLATFORM/);
      expect(out[1]).toMatch(
        /^p2-tinker@5\.3\.1\.bin\s+module\s+p2\s+user 1\s+6\s+0x085F4000-0x08600000\s+32 v4\s+ok$/,
      );
    });
  },
);
