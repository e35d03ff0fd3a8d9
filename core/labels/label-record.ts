import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import type { LabelField, LabelTemplate } from './template-schema';

/**
 * What one label is printed from: the facts of one passed attempt. Kept as JSON with the label
 * job, so a job printed after a restart (or reprinted from the batch view) says exactly what it
 * would have said at the PASS.
 */
export interface LabelRecord {
  /** 24 hex digits, lower case (as the station logs it). */
  readonly deviceId: string;
  /** The sticker serial (GET_SERIAL_NUMBER), when the device reports one. */
  readonly serial?: string | undefined;
  /** The SIM's ICCID, cellular devices only. */
  readonly iccid?: string | undefined;
  readonly productName: string;
  /** Product firmware version, as the profile or the firmware states it. */
  readonly productVersion?: string | undefined;
  readonly lot: string;
  /** Calendar date of the PASS, YYYY-MM-DD. */
  readonly date: string;
  readonly station: string;
}

export interface LabelRecordInput {
  readonly deviceId: string;
  readonly serial?: string | null | undefined;
  readonly iccid?: string | null | undefined;
  readonly productName: string;
  readonly productVersion?: string | number | null | undefined;
  readonly lot: string;
  readonly station: string;
  /** When the attempt passed; the label shows its calendar date in `timeZone`. */
  readonly at: Date;
  /** IANA zone for the date; default the station's own. */
  readonly timeZone?: string | undefined;
}

const blankToUndefined = (v: string | null | undefined): string | undefined => {
  const t = v?.trim();
  return t ? t : undefined;
};

/** YYYY-MM-DD in the given zone (Sweden's locale writes ISO dates). */
export const labelDate = (at: Date, timeZone?: string): string =>
  new Intl.DateTimeFormat('sv-SE', {
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    ...(timeZone ? { timeZone } : {}),
  }).format(at);

export const buildLabelRecord = (input: LabelRecordInput): LabelRecord => {
  const serial = blankToUndefined(input.serial);
  const iccid = blankToUndefined(input.iccid);
  const version =
    input.productVersion === null || input.productVersion === undefined
      ? undefined
      : blankToUndefined(String(input.productVersion));
  return {
    deviceId: input.deviceId.trim().toLowerCase(),
    ...(serial ? { serial } : {}),
    ...(iccid ? { iccid } : {}),
    productName: input.productName,
    ...(version ? { productVersion: version } : {}),
    lot: input.lot,
    date: labelDate(input.at, input.timeZone),
    station: input.station,
  };
};

/** What the engineer's preview shows: plausible values of every field. */
export const SAMPLE_LABEL_RECORD: LabelRecord = {
  deviceId: 'e00fce68a1b2c3d4e5f60718',
  serial: 'P046AB1234567',
  iccid: '89014103271234567890',
  productName: 'Field Tracker',
  productVersion: '12',
  lot: 'LOT-2026-0142',
  date: '2026-03-14',
  station: 'line-1',
};

export const fieldValue = (record: LabelRecord, field: LabelField): string | undefined => {
  const v = record[field];
  return v === undefined || v === '' ? undefined : v;
};

/**
 * What a symbol may carry: printable ASCII without spaces. Identifiers never need more, and a
 * space is how a Gen 3 sticker string joins the serial to the mobile secret, which must never
 * be printed.
 */
const SYMBOL_SAFE = /^[\x21-\x7e]{1,64}$/;

/** The symbol's content (the device's primary key the template chose). */
export const symbolContent = (
  template: Pick<LabelTemplate, 'symbol'>,
  record: LabelRecord,
): Result<string, LabelErrorCode> => {
  const field = template.symbol.content;
  const value = fieldValue(record, field);
  if (value === undefined)
    return labelErr(
      'LABEL_FIELD_MISSING',
      `The label's symbol holds the ${field}, and this device has none.`,
      {
        details: { field, deviceId: record.deviceId },
      },
    );
  if (/\s/.test(value))
    return labelErr(
      'LABEL_CONTENT_INVALID',
      `The ${field} "${value.split(/\s/)[0]}…" holds a space; a serial followed by a space carries the device's mobile secret, which is never printed.`,
      { details: { field, deviceId: record.deviceId } },
    );
  if (!SYMBOL_SAFE.test(value))
    return labelErr(
      'LABEL_CONTENT_INVALID',
      `The ${field} of device ${record.deviceId} has characters a label symbol does not carry (only printable ASCII, up to 64).`,
      { details: { field, deviceId: record.deviceId } },
    );
  return ok(value);
};

/** One text line per template line, in order; optional lines without a value are left out. */
export const textLines = (
  template: Pick<LabelTemplate, 'lines'>,
  record: LabelRecord,
): Result<string[], LabelErrorCode> => {
  const out: string[] = [];
  for (const line of template.lines) {
    const raw = fieldValue(record, line.field);
    if (raw === undefined) {
      if (line.optional) continue;
      return labelErr('LABEL_FIELD_MISSING', `The label shows the ${line.field}, and this device has none.`, {
        details: { field: line.field, deviceId: record.deviceId },
      });
    }
    // Never the mobile secret: only what precedes a space in a serial reaches the label.
    const value = line.field === 'serial' ? (raw.split(/\s/)[0] ?? '') : raw;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    const clean = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
    out.push(line.caption ? `${line.caption} ${clean}` : clean);
  }
  return ok(out);
};
