import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import type { Result } from '../errors/result';
import { ok } from '../errors/result';
import { cupsQueueStatus } from './cups-printer';
import { labelErr } from './errors';
import { readiness } from './host-status';
import type { PrintErrorCode } from './printer';
import type { PrinterTarget } from './template-schema';
import { queryZplStatus } from './zpl-printer';

/**
 * The engineer's "Test printer": asks the template's target whether it could print now, without
 * printing anything. A ZPL printer answers ~HS and its state is judged as the print loop judges
 * it; a CUPS queue must exist, be enabled and accept jobs; a label folder must be writable.
 */

export interface PrinterCheck {
  /** Where the labels go: host:port, the CUPS queue, or the folder. */
  readonly target: string;
  /** What the printer said, in words ("ready", "idle, accepting jobs", …). */
  readonly message: string;
}

export const targetName = (t: PrinterTarget): string =>
  t.kind === 'zpl' ? `${t.host}:${t.port}` : t.kind === 'cups' ? `CUPS queue ${t.queue}` : t.dir;

export const testLabelPrinter = async (
  target: PrinterTarget,
  signal?: AbortSignal,
): Promise<Result<PrinterCheck, PrintErrorCode>> => {
  const name = targetName(target);
  switch (target.kind) {
    case 'zpl': {
      const status = await queryZplStatus(target, signal ? { signal } : {});
      if (!status.ok) return status;
      const ready = readiness(status.value);
      if (!ready.ok) return ready;
      return ok({
        target: name,
        message: `The label printer at ${name} is ready${status.value.formatsInBuffer > 0 ? ` (${status.value.formatsInBuffer} label(s) in its buffer)` : ''}.`,
      });
    }
    case 'cups': {
      const status = await cupsQueueStatus(target.queue, {}, signal);
      if (!status.ok) return status;
      return ok({ target: name, message: `The ${name} is ready: ${status.value}` });
    }
    case 'file': {
      try {
        if (!(await stat(target.dir)).isDirectory()) throw new Error('not a folder');
        await access(target.dir, constants.W_OK);
      } catch (e) {
        return labelErr(
          'LABEL_FILE_WRITE_FAILED',
          `Labels cannot be written to ${target.dir}: ${(e as Error).message}.`,
          {
            details: { dir: target.dir },
          },
        );
      }
      return ok({ target: name, message: `Label files are written to ${name}.` });
    }
  }
};
