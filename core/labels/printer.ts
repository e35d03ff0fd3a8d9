import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type CupsOptions, printCups } from './cups-printer';
import type { LabelErrorCode } from './errors';
import { labelFileName, writeLabelFile } from './file-printer';
import type { LabelRecord } from './label-record';
import { renderLabelPdf } from './pdf';
import { renderLabelPng } from './png';
import type { LabelTemplate } from './template-schema';
import { renderZpl } from './zpl';
import { printZpl } from './zpl-printer';

/**
 * One label to its target: rendered for it (ZPL for a Zebra-compatible printer, a PDF for CUPS,
 * a PDF or PNG file) and delivered. Used by the print loop; the engineer's "Test print" can call
 * it directly.
 */

export type PrintErrorCode = LabelErrorCode | 'ABORTED';

export interface LabelToPrint {
  /** The label job's ID (names label files). */
  readonly jobId: number;
  readonly record: LabelRecord;
}

export interface PrintReceipt {
  readonly target: LabelTemplate['printer']['kind'];
  /** The symbol content that was printed. */
  readonly content: string;
  /** Where it went: host:port, the CUPS request ID, or the file's path. */
  readonly output: string;
}

export interface LabelPrinter {
  print(label: LabelToPrint, signal?: AbortSignal): Promise<Result<PrintReceipt, PrintErrorCode>>;
}

export interface LabelPrinterOptions {
  readonly cups?: CupsOptions;
}

const mapOk = <T, U, C extends string>(r: Result<T, C>, f: (v: T) => U): Result<U, C> =>
  r.ok ? ok(f(r.value)) : r;

export const labelPrinter = (template: LabelTemplate, options: LabelPrinterOptions = {}): LabelPrinter => ({
  async print(label, signal) {
    const target = template.printer;
    switch (target.kind) {
      case 'zpl': {
        const zpl = renderZpl(template, label.record);
        if (!zpl.ok) return zpl;
        const r = await printZpl(target, zpl.value.zpl, signal ? { signal } : {});
        if (!r.ok) return r;
        return ok({ target: 'zpl', content: zpl.value.content, output: `${target.host}:${target.port}` });
      }
      case 'cups': {
        const pdf = await renderLabelPdf(template, label.record);
        if (!pdf.ok) return pdf;
        const r = await printCups(
          target.queue,
          {
            pdf: pdf.value.pdf,
            title: `Label ${pdf.value.content}`,
            widthMm: template.size.widthMm,
            heightMm: template.size.heightMm,
          },
          options.cups ?? {},
          signal,
        );
        if (!r.ok) return r;
        return ok({ target: 'cups', content: pdf.value.content, output: r.value.requestId });
      }
      case 'file': {
        const rendered =
          target.format === 'png'
            ? mapOk(renderLabelPng(template, label.record), (v) => ({ bytes: v.png, content: v.content }))
            : mapOk(await renderLabelPdf(template, label.record), (v) => ({
                bytes: v.pdf,
                content: v.content,
              }));
        if (!rendered.ok) return rendered;
        const name = labelFileName(
          { lot: label.record.lot, content: rendered.value.content, jobId: label.jobId },
          target.format,
        );
        const r = await writeLabelFile(target.dir, name, rendered.value.bytes);
        if (!r.ok) return r;
        return ok({ target: 'file', content: rendered.value.content, output: r.value.path });
      }
    }
  },
});
