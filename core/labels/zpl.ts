import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import type { LabelErrorCode } from './errors';
import type { LabelRecord } from './label-record';
import type { LabelLayout } from './layout';
import { type PreparedLabel, prepareLabel } from './prepare';
import type { LabelTemplate } from './template-schema';

/**
 * ZPL II for one label. The printer encodes the symbol itself (^BX Data Matrix ECC 200, ^BQ QR
 * model 2), sized from the module grid bwip-js computed, so the label scans like one the
 * printer's own software would make.
 *
 * Every field goes through ^FH: a caret or tilde in a product name would otherwise start a ZPL
 * command (a tilde one even runs at once), and non-ASCII text travels as UTF-8 bytes (^CI28).
 */

const HEX_ESCAPE = '_';

/** Field data for ^FH with the default escape `_`: everything but plain, harmless ASCII as _XX. */
export const zplFieldData = (text: string): string => {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const safe = byte >= 0x20 && byte <= 0x7e && byte !== 0x5e && byte !== 0x7e && byte !== 0x5f;
    out += safe
      ? String.fromCharCode(byte)
      : `${HEX_ESCAPE}${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
};

/** ^BQ magnification runs 1–10. */
const QR_MAX_MAGNIFICATION = 10;

export const zplFromLayout = (prepared: PreparedLabel): string => {
  const { layout, content, symbol } = prepared;
  const s = layout.symbol;
  const parts: string[] = ['^XA', '^CI28', `^PW${layout.widthDots}`, `^LL${layout.heightDots}`, '^LH0,0'];
  if (symbol.type === 'datamatrix')
    parts.push(`^FO${s.x},${s.y}^BXN,${s.moduleDots},200^FH^FD${zplFieldData(content)}^FS`);
  else
    parts.push(
      `^FO${s.x},${s.y}^BQN,2,${Math.min(QR_MAX_MAGNIFICATION, s.moduleDots)}^FH^FDMA,${zplFieldData(content)}^FS`,
    );
  for (const line of layout.lines)
    parts.push(
      `^FO${line.x},${line.y}^A0N,${line.heightDots},${line.heightDots}^FB${line.boxWidthDots},1,0,L,0^FH^FD${zplFieldData(line.text)}^FS`,
    );
  parts.push('^PQ1', '^XZ');
  return `${parts.join('\n')}\n`;
};

export interface RenderedZpl {
  readonly zpl: string;
  readonly content: string;
  readonly layout: LabelLayout;
}

export const renderZpl = (
  template: LabelTemplate,
  record: LabelRecord,
): Result<RenderedZpl, LabelErrorCode> => {
  const prepared = prepareLabel(template, record);
  if (!prepared.ok) return prepared;
  return ok({
    zpl: zplFromLayout(prepared.value),
    content: prepared.value.content,
    layout: prepared.value.layout,
  });
};

/**
 * The symbol content of every ^BX/^BQ field in a ZPL text, with ^FH escapes undone: the check
 * that what was sent to the printer carries the device's key, independent of any renderer.
 */
export const zplSymbolContents = (zpl: string): { type: 'datamatrix' | 'qr'; content: string }[] => {
  const out: { type: 'datamatrix' | 'qr'; content: string }[] = [];
  const field = /\^B([XQ])[^^]*((?:\^FH[^^]?)?)\^FD([\s\S]*?)\^FS/g;
  for (const m of zpl.matchAll(field)) {
    const type = m[1] === 'X' ? 'datamatrix' : 'qr';
    const escaped = (m[2] ?? '').length > 0;
    let data = m[3] ?? '';
    if (type === 'qr') data = data.replace(/^[HQML][AM],/, '');
    const bytes: number[] = [];
    for (let i = 0; i < data.length; i++) {
      if (escaped && data[i] === HEX_ESCAPE && /^[0-9A-Fa-f]{2}$/.test(data.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(data.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(data.charCodeAt(i));
    }
    out.push({ type, content: Buffer.from(bytes).toString('utf8') });
  }
  return out;
};
