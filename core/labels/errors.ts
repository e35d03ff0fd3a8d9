import { err, type LsError } from '../errors/result';

/**
 * Every way printing or checking a label can go wrong. Printer and delivery failures are
 * transient: the job stays queued and is tried again (a label is never dropped because a printer
 * was off or out of paper). Template and content failures are permanent: printing the same job
 * again cannot succeed until an engineer changes the profile, so the job is marked failed and
 * shown, and a reprint after the fix makes a new job.
 */
export const LABEL_ERROR_CODES = [
  'LABEL_TEMPLATE_INVALID',
  'LABEL_FIELD_MISSING',
  'LABEL_CONTENT_INVALID',
  'LABEL_TOO_SMALL',
  'LABEL_RENDER_FAILED',
  'LABEL_PRINTER_UNREACHABLE',
  'LABEL_PRINTER_NO_ANSWER',
  'LABEL_PRINTER_DROPPED',
  'LABEL_PRINTER_BAD_STATUS',
  'LABEL_PRINTER_PAPER_OUT',
  'LABEL_PRINTER_HEAD_OPEN',
  'LABEL_PRINTER_PAUSED',
  'LABEL_PRINTER_RIBBON_OUT',
  'LABEL_PRINTER_BUFFER_FULL',
  'LABEL_PRINTER_TEMPERATURE',
  'LABEL_PRINTER_FAULT',
  'LABEL_CUPS_MISSING',
  'LABEL_CUPS_UNREACHABLE',
  'LABEL_CUPS_QUEUE_UNKNOWN',
  'LABEL_CUPS_DISABLED',
  'LABEL_CUPS_REJECTING',
  'LABEL_CUPS_TIMEOUT',
  'LABEL_CUPS_FAILED',
  'LABEL_FILE_WRITE_FAILED',
  'LABEL_MISMATCH',
  'LABEL_SCAN_EMPTY',
  'LABEL_NOTHING_TO_VERIFY',
  'LABEL_JOB_NOT_FOUND',
] as const;
export type LabelErrorCode = (typeof LABEL_ERROR_CODES)[number];
export type LabelError = LsError<LabelErrorCode>;

/** The operator's view of a label failure, in the shape of core/station's operator-error table. */
export interface LabelErrorInfo {
  readonly title: string;
  readonly remedy: string;
  /** A retry of the same job can succeed without an engineer changing anything. */
  readonly transient: boolean;
}

const CHECK_PRINTER = 'Check that the printer is on and on the network; the label prints when it answers.';

export const LABEL_ERRORS: Readonly<Record<LabelErrorCode, LabelErrorInfo>> = {
  LABEL_TEMPLATE_INVALID: {
    title: 'Label template is invalid',
    remedy: 'An engineer fixes the label template in the profile and locks it again.',
    transient: false,
  },
  LABEL_FIELD_MISSING: {
    title: 'Label field missing for this device',
    remedy:
      'An engineer checks the label template: the field is not known for this device (mark it optional, or choose another symbol field).',
    transient: false,
  },
  LABEL_CONTENT_INVALID: {
    title: 'Label content cannot be encoded',
    remedy: 'Set the device aside for an engineer: its identity holds characters the symbol cannot carry.',
    transient: false,
  },
  LABEL_TOO_SMALL: {
    title: 'Label too small for its content',
    remedy: 'An engineer makes the label larger, the DPI higher, or the symbol larger in the template.',
    transient: false,
  },
  LABEL_RENDER_FAILED: {
    title: 'Label could not be drawn',
    remedy: 'Set the device aside for an engineer; the message says what failed.',
    transient: false,
  },
  LABEL_PRINTER_UNREACHABLE: {
    title: 'Label printer unreachable',
    remedy: CHECK_PRINTER,
    transient: true,
  },
  LABEL_PRINTER_NO_ANSWER: {
    title: 'Label printer does not answer',
    remedy:
      'Check the printer: it accepted the connection but did not report its status. Power-cycle it if it stays silent.',
    transient: true,
  },
  LABEL_PRINTER_DROPPED: {
    title: 'Label printer dropped the connection',
    remedy:
      'Nothing to do unless it repeats: the label is sent again. If a spare label comes out, discard it.',
    transient: true,
  },
  LABEL_PRINTER_BAD_STATUS: {
    title: 'Label printer answered something unexpected',
    remedy: 'Check that the address is a Zebra-compatible (ZPL) printer on port 9100.',
    transient: true,
  },
  LABEL_PRINTER_PAPER_OUT: {
    title: 'Label printer out of labels',
    remedy: 'Load a new label roll; the queued labels then print.',
    transient: true,
  },
  LABEL_PRINTER_HEAD_OPEN: {
    title: 'Label printer head open',
    remedy: 'Close the print head; the queued labels then print.',
    transient: true,
  },
  LABEL_PRINTER_PAUSED: {
    title: 'Label printer paused',
    remedy: 'Press the printer’s pause button to resume; the queued labels then print.',
    transient: true,
  },
  LABEL_PRINTER_RIBBON_OUT: {
    title: 'Label printer out of ribbon',
    remedy: 'Load a new ribbon; the queued labels then print.',
    transient: true,
  },
  LABEL_PRINTER_BUFFER_FULL: {
    title: 'Label printer busy',
    remedy: 'Wait: the printer’s buffer is full and the label is sent when it has room.',
    transient: true,
  },
  LABEL_PRINTER_TEMPERATURE: {
    title: 'Label printer head too hot or too cold',
    remedy: 'Let the printer reach its working temperature; the queued labels then print.',
    transient: true,
  },
  LABEL_PRINTER_FAULT: {
    title: 'Label printer reports a fault',
    remedy: 'Power-cycle the printer; call an engineer if the fault stays.',
    transient: true,
  },
  LABEL_CUPS_MISSING: {
    title: 'Printing system not installed',
    remedy: 'An engineer installs CUPS (the cups-client package provides lp).',
    transient: true,
  },
  LABEL_CUPS_UNREACHABLE: {
    title: 'Printing system not running',
    remedy: 'An engineer starts CUPS (cupsd) on this computer; the queued labels then print.',
    transient: true,
  },
  LABEL_CUPS_QUEUE_UNKNOWN: {
    title: 'Printer queue not found',
    remedy: 'An engineer adds the queue named in the label template to CUPS (lpadmin), or fixes the name.',
    transient: true,
  },
  LABEL_CUPS_DISABLED: {
    title: 'Printer queue stopped',
    remedy: 'Fix the printer, then enable the queue (cupsenable QUEUE); the queued labels then print.',
    transient: true,
  },
  LABEL_CUPS_REJECTING: {
    title: 'Printer queue refuses jobs',
    remedy: 'An engineer lets the queue accept jobs again (cupsaccept QUEUE).',
    transient: true,
  },
  LABEL_CUPS_TIMEOUT: {
    title: 'Printing system too slow',
    remedy: 'Check CUPS on this computer; the label is sent again.',
    transient: true,
  },
  LABEL_CUPS_FAILED: {
    title: 'Printing system refused the label',
    remedy: 'Check CUPS on this computer; the message says what lp reported.',
    transient: true,
  },
  LABEL_FILE_WRITE_FAILED: {
    title: 'Label file could not be written',
    remedy: 'Check that the label folder exists, is writable and has free space; the label is written again.',
    transient: true,
  },
  LABEL_MISMATCH: {
    title: 'Wrong label',
    remedy: 'Take this label off. Put the label for this device on it, and scan it again.',
    transient: false,
  },
  LABEL_SCAN_EMPTY: {
    title: 'Nothing scanned',
    remedy: 'Scan the printed label again.',
    transient: true,
  },
  LABEL_NOTHING_TO_VERIFY: {
    title: 'No printed label waiting for a scan',
    remedy: 'Scan a label only after its device passed and the label printed.',
    transient: false,
  },
  LABEL_JOB_NOT_FOUND: {
    title: 'No label for that device',
    remedy: 'Check the batch view: the device has no label job in this station’s log.',
    transient: false,
  },
};

export const isTransientLabelError = (code: string): boolean =>
  (LABEL_ERRORS as Readonly<Record<string, LabelErrorInfo>>)[code]?.transient ?? true;

/** A failed Result with the table's remedy unless the caller gives a more specific one. */
export const labelErr = <C extends LabelErrorCode>(
  code: C,
  message: string,
  extra: { remedy?: string; details?: Record<string, unknown> } = {},
) =>
  err(code, message, {
    remedy: extra.remedy ?? LABEL_ERRORS[code].remedy,
    ...(extra.details ? { details: extra.details } : {}),
  });
