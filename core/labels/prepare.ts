import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import type { LabelErrorCode } from './errors';
import { type LabelRecord, symbolContent, textLines } from './label-record';
import { type LabelLayout, layoutLabel } from './layout';
import { encodeSymbol, type SymbolMatrix } from './symbol';
import type { LabelTemplate } from './template-schema';

/** One label ready to draw: its symbol content, the encoded symbol and where everything goes. */
export interface PreparedLabel {
  readonly content: string;
  readonly symbol: SymbolMatrix;
  readonly layout: LabelLayout;
}

export const prepareLabel = (
  template: LabelTemplate,
  record: LabelRecord,
): Result<PreparedLabel, LabelErrorCode> => {
  const content = symbolContent(template, record);
  if (!content.ok) return content;
  const lines = textLines(template, record);
  if (!lines.ok) return lines;
  const symbol = encodeSymbol(template.symbol.type, content.value);
  if (!symbol.ok) return symbol;
  const layout = layoutLabel(template, symbol.value, lines.value);
  if (!layout.ok) return layout;
  return ok({ content: content.value, symbol: symbol.value, layout: layout.value });
};
