import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LsFailure } from '../../../core/errors/result';
import { Ep0 } from '../../../core/sim/functionfs/ep0';

// core/sim/functionfs/ep0.ts without a kernel: only what does not need FunctionFS itself.

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Ep0.open', () => {
  it('names the failure and says how to fix it when FunctionFS is not mounted there', async () => {
    dir = mkdtempSync(join(tmpdir(), 'ffs-'));
    const failure = await Ep0.open(dir, { descriptors: new Uint8Array(0), count: 0 }, []).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(LsFailure);
    const error = (failure as LsFailure).error;
    expect(error.code).toBe('FFS_OPEN_FAILED');
    expect(error.message).toContain(join(dir, 'ep0'));
    expect(error.remedy).toMatch(/mount -t functionfs/);
    expect(error.details?.errno).toBe('ENOENT');
  });
});
