import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PRODUCT = 4242;
// Shaped like a real Particle access token (40 hex characters), so leak checks test the real case.
export const TOKEN = randomBytes(20).toString('hex');

/** A valid-looking device ID (24 lower-case hex) derived from n, so tests can name devices. */
export const deviceId = (n: number): string => `e00fce68${n.toString(16).padStart(16, '0')}`;

export const tempDir = (): { dir: string; cleanup: () => void } => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-cloud-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
};
