import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root, from this file's place in test/firmware. */
export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Real Particle binaries and what Particle's parser says of them; absent in a clone elsewhere. */
export const particleBinariesDir = join(repoRoot, '..', 'shared', 'fixtures', 'particle-binaries');
export const haveParticleBinaries = existsSync(join(particleBinariesDir, 'expected.json'));
export const skipReason = `../shared/fixtures/particle-binaries is absent (looked in ${particleBinariesDir}); real-binary tests skipped`;

export interface ExpectedDependency {
  function: string | number;
  index: number;
  version: number;
}

export interface ExpectedEntry {
  size: number;
  sha256OfFile: string;
  error?: string;
  prefixOffset?: number;
  moduleStartAddress?: string;
  moduleEndAddress?: string;
  moduleFlags?: number;
  moduleVersion?: number;
  platformId?: number;
  moduleFunction?: string | number;
  moduleIndex?: number;
  dependency?: ExpectedDependency;
  dependency2?: ExpectedDependency;
  productId?: number;
  productVersion?: number;
  suffixSize?: number;
  fwUniqueId?: string;
  crc?: { ok: boolean; stored: string; actual: string };
}

export const loadExpected = (): Record<string, ExpectedEntry> =>
  haveParticleBinaries ? JSON.parse(readFileSync(join(particleBinariesDir, 'expected.json'), 'utf8')) : {};

export const realBinaries = (): { name: string; bytes: Uint8Array }[] =>
  Object.keys(loadExpected()).map((name) => ({
    name,
    bytes: new Uint8Array(readFileSync(join(particleBinariesDir, name))),
  }));
