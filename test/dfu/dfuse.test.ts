import { describe, expect, it } from 'vitest';
import { DfuseCommand } from '../../core/dfu/constants';
import { encodeDfuseCommand } from '../../core/dfu/dfuse';
import { parseStatus } from '../../core/dfu/requests';
import { LsFailure } from '../../core/errors/result';

describe('DfuSe command encoding (AN3156)', () => {
  it('SET_ADDRESS and ERASE carry a little-endian 32-bit address', () => {
    expect([...encodeDfuseCommand(DfuseCommand.SET_ADDRESS, 0x080a0000)]).toEqual([
      0x21, 0x00, 0x00, 0x0a, 0x08,
    ]);
    expect([...encodeDfuseCommand(DfuseCommand.ERASE, 0xb4000)]).toEqual([0x41, 0x00, 0x40, 0x0b, 0x00]);
    expect([...encodeDfuseCommand(DfuseCommand.ERASE, 0x80000000)]).toEqual([0x41, 0, 0, 0, 0x80]);
  });

  it('mass erase is the command byte alone', () => {
    expect([...encodeDfuseCommand(DfuseCommand.ERASE)]).toEqual([0x41]);
  });
});

describe('GETSTATUS parsing (DFU 1.1 §6.1.2)', () => {
  it('reads status, 24-bit poll timeout, state and iString', () => {
    expect(parseStatus(Uint8Array.from([0, 0x2c, 0x01, 0x00, 4, 0]))).toEqual({
      status: 0,
      pollTimeoutMs: 300,
      state: 4,
      iString: 0,
    });
    expect(parseStatus(Uint8Array.from([8, 0xff, 0xff, 0x01, 10, 0])).pollTimeoutMs).toBe(0x1ffff);
  });

  it('refuses a short answer with a named error', () => {
    expect(() => parseStatus(Uint8Array.from([0, 0, 0]))).toThrow(LsFailure);
  });
});
