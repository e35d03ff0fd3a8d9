import { describe, expect, it } from 'vitest';
import { moduleStatus } from '../../../core/sim/functionfs/protocol';

// Tests for core/sim/functionfs/protocol.ts: what the device server reports of a device's modules.

describe('moduleStatus', () => {
  it('carries what MODULE_INFO lists: version, validity, the SHA-256 as hex', () => {
    const hash = new Uint8Array(32).fill(0xab);
    expect(moduleStatus({ func: 2, index: 0, version: 3100, size: 3580, hash })).toEqual({
      func: 2,
      index: 0,
      version: 3100,
      size: 3580,
      valid: true,
      hash: 'ab'.repeat(32),
    });
  });

  it('a module that failed a check is not valid; one without a hash has none', () => {
    const m = moduleStatus({ func: 5, index: 1, version: 6, size: 2068, failedFlags: 0x02 });
    expect(m.valid).toBe(false);
    expect(m).not.toHaveProperty('hash');
  });
});
