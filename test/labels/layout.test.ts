import { describe, expect, it } from 'vitest';
import { SAMPLE_LABEL_RECORD } from '../../core/labels/label-record';
import { CHAR_ADVANCE } from '../../core/labels/layout';
import { prepareLabel } from '../../core/labels/prepare';
import { template } from './helpers';

const layoutOf = (t = template()) => {
  const p = prepareLabel(t, SAMPLE_LABEL_RECORD);
  if (!p.ok) throw new Error(p.error.message);
  return p.value.layout;
};

describe('label layout', () => {
  it('keeps the symbol and its quiet zone on the label, and text right of it, inside the margins', () => {
    for (const t of [template(), template({ symbol: { type: 'qr', content: 'deviceId' } })]) {
      const l = layoutOf(t);
      const s = l.symbol;
      const side = s.columns * s.moduleDots;
      const quiet = (t.symbol.type === 'qr' ? 4 : 1) * s.moduleDots;
      expect(s.x).toBeGreaterThanOrEqual(quiet);
      expect(s.y).toBeGreaterThanOrEqual(quiet);
      expect(s.y + side + quiet).toBeLessThanOrEqual(l.heightDots);
      for (const line of l.lines) {
        expect(line.x).toBeGreaterThanOrEqual(s.x + side + quiet);
        expect(line.x + line.boxWidthDots).toBeLessThanOrEqual(l.widthDots - 12);
        expect(line.y + line.heightDots).toBeLessThanOrEqual(l.heightDots);
      }
    }
  });

  it('gives lines one size, shrinking only a line too long for it', () => {
    const l = layoutOf();
    const sizes = l.lines.map((x) => x.heightDots);
    const common = Math.max(...sizes);
    for (const line of l.lines)
      if (line.heightDots < common)
        expect([...line.text].length * CHAR_ADVANCE * common).toBeGreaterThan(line.boxWidthDots);
  });

  it('honours a chosen symbol size', () => {
    const l = layoutOf(template({ symbol: { sizeMm: 12 } }));
    expect(l.symbol.columns * l.symbol.moduleDots).toBeLessThanOrEqual(Math.round(12 * 8));
  });

  it('refuses a symbol that leaves no room for text', () => {
    const p = prepareLabel(template({ size: { widthMm: 18, heightMm: 18 } }), SAMPLE_LABEL_RECORD);
    expect(!p.ok && p.error.code).toBe('LABEL_TOO_SMALL');
  });
});
