import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFields, readFields, stringField, uintField } from '../../core/particle/protobuf';

describe('protobuf wire reader', () => {
  it('round-trips varints, fixed32 and strings through the writer', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.string(),
        (v, f, s) => {
          const fields = readFields(
            encodeFields([
              { field: 3, varint: v },
              { field: 6, fixed32: f },
              { field: 1, bytes: s },
            ]),
          );
          expect(uintField(fields, 3)).toBe(v);
          expect(uintField(fields, 6)).toBe(f);
          expect(stringField(fields, 1)).toBe(s);
        },
      ),
    );
  });

  it('returns proto3 defaults for absent fields', () => {
    const fields = readFields(new Uint8Array(0));
    expect(uintField(fields, 1)).toBe(0);
    expect(stringField(fields, 1)).toBe('');
  });

  it('skips 64-bit fields and rejects truncation and unknown wire types', () => {
    const withFixed64 = Uint8Array.from([0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x10, 0x05]);
    expect(uintField(readFields(withFixed64), 2)).toBe(5);
    expect(() => readFields(Uint8Array.from([0x0a, 0x05, 0x41]))).toThrow(/truncated/);
    expect(() => readFields(Uint8Array.from([0x0b]))).toThrow(/wire type/);
    expect(() => readFields(Uint8Array.from([0x08, 0xff]))).toThrow(/varint/);
  });
});
