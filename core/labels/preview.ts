import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import { type LabelRecord, SAMPLE_LABEL_RECORD } from './label-record';
import { dotsPerMm } from './layout';
import { renderLabelPng } from './png';
import type { LabelTemplate } from './template-schema';
import { renderZpl } from './zpl';

/**
 * The engineer's live preview: the label as its target will produce it. For a ZPL printer that
 * is the ZPL text drawn by zpl-renderer-js (Zebrash, a ZPL renderer in Go compiled to
 * WebAssembly, offline), so the preview shows how a printer reads our ZPL; for CUPS and label
 * files it is our own PNG, which is what they receive (CUPS as the same layout in a PDF).
 */

export interface ZplImageOptions {
  readonly widthMm: number;
  readonly heightMm: number;
  readonly dpi: number;
}

type ZplToPng = (zpl: string, widthMm?: number, heightMm?: number, dpmm?: number) => Promise<string>;

let renderer: Promise<ZplToPng> | undefined;

/** Loaded on first use: the renderer is a few MB of WebAssembly a station that never previews does not need. */
const zplRenderer = (): Promise<ZplToPng> => {
  renderer ??= import('zpl-renderer-js').then(async (m) => {
    const { api } = await m.ready;
    return api.zplToBase64Async;
  });
  return renderer;
};

/** Draws ZPL as a PNG the size of the label at the printer's resolution. */
export const renderZplImage = async (
  zpl: string,
  size: ZplImageOptions,
): Promise<Result<Buffer, LabelErrorCode>> => {
  try {
    const toPng = await zplRenderer();
    const base64 = await toPng(zpl, size.widthMm, size.heightMm, Math.round(dotsPerMm(size.dpi)));
    return ok(Buffer.from(base64, 'base64'));
  } catch (e) {
    renderer = undefined;
    return labelErr('LABEL_RENDER_FAILED', `The ZPL preview could not be drawn: ${String(e)}`);
  }
};

export interface LabelPreview {
  readonly png: Buffer;
  /** What a ZPL printer would be sent; for other targets, the ZPL the same template makes. */
  readonly zpl: string;
  readonly content: string;
  /** Which drawing the image is: the ZPL renderer's, or our own PNG output. */
  readonly source: 'zpl-renderer' | 'png';
  readonly widthMm: number;
  readonly heightMm: number;
  readonly dpi: number;
}

export const previewLabel = async (
  template: LabelTemplate,
  record: LabelRecord = SAMPLE_LABEL_RECORD,
): Promise<Result<LabelPreview, LabelErrorCode>> => {
  const zpl = renderZpl(template, record);
  if (!zpl.ok) return zpl;
  const { widthMm, heightMm, dpi } = template.size;
  const base = { zpl: zpl.value.zpl, content: zpl.value.content, widthMm, heightMm, dpi };
  if (template.printer.kind === 'zpl') {
    const image = await renderZplImage(zpl.value.zpl, template.size);
    if (image.ok) return ok({ ...base, png: image.value, source: 'zpl-renderer' });
  }
  // Not a ZPL target, or the renderer failed to load: our PNG has the same layout.
  const png = renderLabelPng(template, record);
  if (!png.ok) return png;
  return ok({ ...base, png: png.value.png, source: 'png' });
};
