import { z } from 'zod';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { labelErr } from './errors';

/**
 * The label template, engineer-edited inside the product profile (its `label` key), so it is
 * part of the locked profile hash: what a label says, its symbol, its size and where it goes.
 * The layout is automatic (symbol on the left, one text line per field on the right) so a
 * template stays a short list of choices rather than a drawing the station has to trust.
 */

/** Facts about one passed device that a label can show (core/labels/label-record.ts). */
export const LABEL_FIELDS = [
  'deviceId',
  'serial',
  'iccid',
  'productName',
  'productVersion',
  'lot',
  'date',
  'station',
] as const;
export type LabelField = (typeof LABEL_FIELDS)[number];

/** Fields that identify one device, so only they can be the symbol's content. */
export const SYMBOL_CONTENT_FIELDS = ['serial', 'deviceId', 'iccid'] as const;
export type SymbolContentField = (typeof SYMBOL_CONTENT_FIELDS)[number];

/** Data Matrix is what Particle's own stickers carry; QR for scanners or phones that want it. */
export const SYMBOLOGIES = ['datamatrix', 'qr'] as const;
export type Symbology = (typeof SYMBOLOGIES)[number];

/** Print resolutions of Zebra-compatible heads (8, 12 and 24 dots per mm). */
export const LABEL_DPIS = [203, 300, 600] as const;

const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:_-]+$/, 'must be a host name or an IP address');

export const printerTargetSchema = z.discriminatedUnion('kind', [
  /** A Zebra-compatible network printer: ZPL over raw TCP, status asked with ~HS first. */
  z.strictObject({
    kind: z.literal('zpl'),
    host: hostName,
    port: z.int().min(1).max(65535).default(9100),
    /** How long the printer has to connect and to answer ~HS; silence is "not ready". */
    timeoutMs: z.int().min(100).max(60_000).default(5_000),
  }),
  /** A CUPS queue (lp) for printers that do not speak ZPL; it is sent a PDF. */
  z.strictObject({
    kind: z.literal('cups'),
    queue: z
      .string()
      .regex(/^[A-Za-z0-9_.@-]{1,127}$/, 'must be a CUPS queue name (letters, digits, _ . @ -)'),
  }),
  /** No printer: one file per label in a folder (absolute, since it is this station's disk). */
  z.strictObject({
    kind: z.literal('file'),
    dir: z.string().min(1),
    format: z.enum(['pdf', 'png']).default('pdf'),
  }),
]);
export type PrinterTarget = z.infer<typeof printerTargetSchema>;

export const labelLineSchema = z.strictObject({
  field: z.enum(LABEL_FIELDS),
  /** Printed before the value ("SN", "ICCID"); none by default. */
  caption: z
    .string()
    .max(24)
    .regex(/^[^\n\r]*$/, 'must be one line')
    .optional(),
  /** Leave the line out when the device has no value (e.g. no ICCID on a Wi-Fi device). */
  optional: z.boolean().default(false),
});
export type LabelLine = z.infer<typeof labelLineSchema>;

export const labelTemplateSchema = z
  .strictObject({
    size: z.strictObject({
      widthMm: z.number().min(10).max(200),
      heightMm: z.number().min(5).max(300),
      dpi: z.literal(LABEL_DPIS).default(203),
      /** Blank border on every side. */
      marginMm: z.number().min(0).max(10).default(1.5),
    }),
    symbol: z.strictObject({
      type: z.enum(SYMBOLOGIES).default('datamatrix'),
      /** The device's primary key the symbol holds; the scan-back check compares against it. */
      content: z.enum(SYMBOL_CONTENT_FIELDS).default('serial'),
      /** Side of the symbol; by default as large as the label's height allows. */
      sizeMm: z.number().min(3).max(100).optional(),
    }),
    lines: z.array(labelLineSchema).max(8).default([]),
    printer: printerTargetSchema,
    /**
     * The operator scans each printed label and the station checks it against the device that
     * passed. Off only for stations without a scanner.
     */
    scanBack: z.boolean().default(true),
  })
  .refine((t) => t.size.widthMm > 2 * t.size.marginMm && t.size.heightMm > 2 * t.size.marginMm, {
    message: 'margins leave no room on the label',
    path: ['size', 'marginMm'],
  });

/** A template as held in memory: defaults filled in. */
export type LabelTemplate = z.infer<typeof labelTemplateSchema>;
/** A template as an engineer writes it: defaults may be left out. */
export type LabelTemplateInput = z.input<typeof labelTemplateSchema>;

/**
 * A draft template from the engineer's editor, before it is saved into a profile: every problem
 * named by its field, as the profile's own check would name it (under `label.`).
 */
export const parseLabelTemplate = (value: unknown): Result<LabelTemplate, 'LABEL_TEMPLATE_INVALID'> => {
  const parsed = labelTemplateSchema.safeParse(value);
  if (parsed.success) return ok(parsed.data);
  const problems = parsed.error.issues.map(
    (i) => `${i.path.map(String).join('.') || '(template)'}: ${i.message}`,
  );
  return labelErr('LABEL_TEMPLATE_INVALID', `The label template is not valid: ${problems.join('; ')}.`, {
    details: { problems },
  });
};
