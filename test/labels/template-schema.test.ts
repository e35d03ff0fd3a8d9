import { describe, expect, it } from 'vitest';
import { labelTemplateSchema, parseLabelTemplate } from '../../core/labels/template-schema';
import { parseProfile } from '../../core/station/profile';
import { profileHash } from '../../core/station/profile-integrity';

const baseProfile = {
  schemaVersion: 1,
  product: { id: 12345, name: 'Field Tracker' },
  platform: 'boron',
};

const label = {
  size: { widthMm: 50, heightMm: 25 },
  symbol: { type: 'datamatrix', content: 'serial' },
  lines: [{ field: 'productName' }, { field: 'serial', caption: 'SN' }, { field: 'iccid', optional: true }],
  printer: { kind: 'zpl', host: '10.1.2.3' },
};

describe('label template schema', () => {
  it('fills defaults: 203 dpi, 1.5 mm margins, port 9100, 5 s status timeout, scan-back on', () => {
    const t = labelTemplateSchema.parse(label);
    expect(t.size).toEqual({ widthMm: 50, heightMm: 25, dpi: 203, marginMm: 1.5 });
    expect(t.printer).toEqual({ kind: 'zpl', host: '10.1.2.3', port: 9100, timeoutMs: 5000 });
    expect(t.scanBack).toBe(true);
    expect(t.lines[0]).toEqual({ field: 'productName', optional: false });
  });

  it('takes the three printer targets and refuses anything else', () => {
    expect(
      labelTemplateSchema.safeParse({ ...label, printer: { kind: 'cups', queue: 'labels' } }).success,
    ).toBe(true);
    const file = labelTemplateSchema.parse({ ...label, printer: { kind: 'file', dir: '/var/labels' } });
    expect(file.printer).toEqual({ kind: 'file', dir: '/var/labels', format: 'pdf' });
    expect(labelTemplateSchema.safeParse({ ...label, printer: { kind: 'ipp', host: 'x' } }).success).toBe(
      false,
    );
    expect(labelTemplateSchema.safeParse({ ...label, printer: { kind: 'cups', queue: 'a b' } }).success).toBe(
      false,
    );
    expect(
      labelTemplateSchema.safeParse({ ...label, printer: { kind: 'zpl', host: 'h; rm -rf' } }).success,
    ).toBe(false);
  });

  it('only a device key can be the symbol, and only datamatrix or qr', () => {
    expect(labelTemplateSchema.safeParse({ ...label, symbol: { content: 'productName' } }).success).toBe(
      false,
    );
    expect(labelTemplateSchema.safeParse({ ...label, symbol: { type: 'code128' } }).success).toBe(false);
    expect(labelTemplateSchema.parse({ ...label, symbol: {} }).symbol).toEqual({
      type: 'datamatrix',
      content: 'serial',
    });
  });

  it('refuses unknown keys, odd resolutions and margins that leave no room', () => {
    expect(labelTemplateSchema.safeParse({ ...label, colour: 'red' }).success).toBe(false);
    expect(
      labelTemplateSchema.safeParse({ ...label, size: { widthMm: 50, heightMm: 25, dpi: 250 } }).success,
    ).toBe(false);
    const r = labelTemplateSchema.safeParse({ ...label, size: { widthMm: 12, heightMm: 12, marginMm: 6 } });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.path).toEqual(['size', 'marginMm']);
  });
});

describe('parseLabelTemplate (a draft in the editor)', () => {
  it('names each problem by its field', () => {
    const r = parseLabelTemplate({ ...label, size: { widthMm: 5, heightMm: 25 }, printer: { kind: 'zpl' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('LABEL_TEMPLATE_INVALID');
    const problems = (r.error.details?.problems ?? []) as string[];
    expect(problems.some((p) => p.startsWith('size.widthMm:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('printer.host:'))).toBe(true);
    expect(parseLabelTemplate(label).ok).toBe(true);
  });
});

describe('the label template in the profile', () => {
  it('is optional: a profile without one parses as before and keeps its hash', () => {
    const without = parseProfile(baseProfile, 'p.json');
    expect(without.ok && without.value.label).toBeUndefined();
    const withLabel = parseProfile({ ...baseProfile, label }, 'p.json');
    expect(withLabel.ok).toBe(true);
    if (!without.ok || !withLabel.ok) return;
    expect(withLabel.value.label?.printer.kind).toBe('zpl');
    // The template is part of the locked hash: adding it, or changing any of it, changes the hash.
    expect(profileHash(withLabel.value)).not.toBe(profileHash(without.value));
    const moved = parseProfile(
      { ...baseProfile, label: { ...label, printer: { kind: 'zpl', host: '10.1.2.4' } } },
      'p',
    );
    expect(moved.ok && profileHash(moved.value)).not.toBe(profileHash(withLabel.value));
    const { label: _dropped, ...back } = withLabel.value;
    expect(profileHash(back)).toBe(profileHash(without.value));
  });

  it('names a bad template field in the profile problems', () => {
    const r = parseProfile({ ...baseProfile, label: { ...label, symbol: { type: 'pdf417' } } }, 'p.json');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(
      ((r.error.details?.problems ?? []) as string[]).some((p) => p.startsWith('label.symbol.type:')),
    ).toBe(true);
  });
});
