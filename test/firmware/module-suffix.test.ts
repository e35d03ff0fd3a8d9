import { describe, expect, it } from 'vitest';
import { buildModule } from '../../core/firmware/builder';
import { readSuffix, suffixSizeProblem } from '../../core/firmware/module-suffix';

describe('module suffix', () => {
  it('reads product ID and version from a 40-byte suffix', () => {
    const r = readSuffix(buildModule({ platformId: 13, function: 'user', product: { id: 321, version: 9 } }));
    expect(r).toMatchObject({
      ok: true,
      suffix: { suffixSize: 40, productId: 321, productVersion: 9, extensions: [] },
    });
  });

  it('reports -1 for both when the suffix is the 36-byte one without product data', () => {
    const r = readSuffix(buildModule({ platformId: 6, function: 'system', product: null }));
    expect(r).toMatchObject({ ok: true, suffix: { suffixSize: 36, productId: -1, productVersion: -1 } });
  });

  it('walks extension records and still finds product data at its fixed place', () => {
    const b = buildModule({
      platformId: 32,
      function: 'user',
      product: { id: 55, version: 2 },
      suffixExtensions: [{ type: 0x11, payload: new TextEncoder().encode('tinker') }],
    });
    const r = readSuffix(b);
    if (!r.ok) throw new Error(r.reason);
    expect(r.suffix.suffixSize).toBe(10 + 10 + 36);
    expect(r.suffix.extensions.map((e) => [e.type, e.length])).toEqual([
      [0x11, 10],
      [0x01, 10],
    ]);
    expect([r.suffix.productId, r.suffix.productVersion]).toEqual([55, 2]);
    expect(r.suffix.storedCrc).toMatch(/^[0-9a-f]{8}$/);
  });

  it('refuses a zero-length record, as Particle’s parser does', () => {
    const b = buildModule({
      platformId: 32,
      function: 'user',
      suffixExtensions: [{ type: 0x11, payload: new Uint8Array(4) }],
    });
    const suffixSize = b[b.length - 6] as number;
    b[b.length - 4 - suffixSize + 2] = 0;
    expect(readSuffix(b)).toMatchObject({ ok: false, reason: expect.stringMatching(/has length 0$/) });
  });
});

describe('suffix size field', () => {
  it('fits when it is 36, or 40 and more, and lies between the prefix and the CRC', () => {
    for (const size of [36, 40, 62, 1000 - 4 - 24])
      expect(suffixSizeProblem(1000, size, 24), `${size}`).toBeUndefined();
    expect(suffixSizeProblem(1000, 35, 24)).toMatch(
      /says 35 bytes, less than the 36 bytes of the fixed suffix$/,
    );
    expect(suffixSizeProblem(1000, 38, 24)).toMatch(/36 bytes without product data and at least 40 with it$/);
    expect(suffixSizeProblem(1000, 973, 24)).toBe(
      'the suffix size field says 973 bytes, but only 972 bytes lie between the end of the module prefix and the CRC',
    );
  });

  it('does not walk extension records from a suffix start outside the file', () => {
    const b = buildModule({
      platformId: 13,
      function: 'user',
      product: { id: 7, version: 1 },
      lie: { suffixSize: 0xffff },
    });
    const r = readSuffix(b, 24);
    expect(r).toMatchObject({ ok: true, suffix: { suffixSize: 0xffff, productId: 7, extensions: [] } });
    expect(r.ok && r.suffix.sizeProblem).toMatch(/says 65535 bytes/);
  });
});
