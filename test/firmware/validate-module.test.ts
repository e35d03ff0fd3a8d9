import { describe, expect, it } from 'vitest';
import { buildModule } from '../../core/firmware/builder';
import { inspectBytes } from '../../core/firmware/inspect';
import type { ModuleSpec, ProductTarget } from '../../core/firmware/types';
import { fileProblems, validateForProduct } from '../../core/firmware/validate-module';

const problems = (spec: ModuleSpec) => fileProblems(inspectBytes('m.bin', buildModule(spec)));
const codes = (spec: ModuleSpec) => problems(spec).map((e) => e.code);

describe('module region checks', () => {
  it('accepts each platform family’s user part where it belongs', () => {
    expect(codes({ platformId: 6, function: 'user' })).toEqual([]);
    expect(codes({ platformId: 10, function: 'user' })).toEqual([]); // Electron: 0x08080000
    expect(codes({ platformId: 13, function: 'user', startAddress: 0xd4000 })).toEqual([]); // pre-3.1 slot
    expect(codes({ platformId: 35, function: 'user', bodySize: 100_000 })).toEqual([]);
  });

  it('requires an RTL872x user part to end exactly at the region end', () => {
    const p = problems({ platformId: 32, function: 'user', startAddress: 0x08500000 });
    expect(p.map((e) => e.code)).toEqual(['FIRMWARE_OUT_OF_REGION']);
    expect(p[0]?.message).toMatch(/grows down and must end at 0x08600000/);
  });

  it('refuses an oversized Gen 2 application with the limit in the message', () => {
    const p = problems({ platformId: 6, function: 'user', bodySize: 129 * 1024 });
    expect(p.map((e) => e.code)).toEqual(['FIRMWARE_TOO_LARGE']);
    expect(p[0]?.message).toMatch(/at most 131072 bytes \(128 KB\)/);
  });

  it('refuses a system part outside internal flash but leaves NCP and asset addresses alone', () => {
    expect(codes({ platformId: 13, function: 'system', startAddress: 0x200000 })).toEqual([
      'FIRMWARE_OUT_OF_REGION',
    ]);
    expect(codes({ platformId: 13, function: 'ncp' })).toEqual([]);
    expect(codes({ platformId: 13, function: 'asset', startAddress: 0x90000000 })).toEqual([]);
  });
});

describe('validateForProduct', () => {
  const boron: ProductTarget = { platformId: 13, productId: 10, mode: 'flash-on-line' };
  it('explains a non-product build', () => {
    const f = inspectBytes('app.bin', buildModule({ platformId: 13, function: 'user' }));
    const [e] = validateForProduct(f, boron);
    expect(e?.code).toBe('FIRMWARE_WRONG_PRODUCT');
    expect(e?.message).toBe(
      'app.bin: the application is not a product build (it carries no product ID), but this station provisions product 10.',
    );
  });

  it('does not ask for a product ID from system parts', () => {
    const f = inspectBytes('sys.bin', buildModule({ platformId: 13, function: 'system' }));
    expect(validateForProduct(f, boron)).toEqual([]);
  });

  it('in OTA-on-setup mode does not judge DFU-ability', () => {
    const f = inspectBytes('ncp.bin', buildModule({ platformId: 13, function: 'ncp' }));
    expect(validateForProduct(f, { ...boron, mode: 'ota-on-setup' })).toEqual([]);
    expect(validateForProduct(f, boron).map((e) => e.code)).toEqual(['FIRMWARE_NOT_DFU_MODULE']);
  });

  it('refuses a product whose platform is unknown', () => {
    const f = inspectBytes('sys.bin', buildModule({ platformId: 13, function: 'system' }));
    expect(validateForProduct(f, { ...boron, platformId: 999 }).map((e) => e.code)).toEqual([
      'FIRMWARE_UNKNOWN_PLATFORM',
      'FIRMWARE_WRONG_PLATFORM',
    ]);
  });
});
