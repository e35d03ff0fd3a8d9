import { connect, type Socket } from 'node:net';
import type { Result } from '../errors/result';
import { err, ok } from '../errors/result';
import { type LabelErrorCode, labelErr } from './errors';
import { type HostStatus, hostStatusFrames, parseHostStatus, readiness } from './host-status';

/**
 * A Zebra-compatible printer over raw TCP (port 9100), one connection per label:
 *
 *   1. connect; a refusal or no connection within the timeout is LABEL_PRINTER_UNREACHABLE;
 *   2. ~HS, and its three status strings within the timeout; silence is "not ready"
 *      (LABEL_PRINTER_NO_ANSWER), and paper out, head open, paused… each have their own code;
 *   3. the label, then ~HS again: the printer answers tilde commands as it reads them, so that
 *      answer proves it read the whole label, which is when we call it printed.
 *
 * A connection lost after the label left this computer and before that second answer is
 * ambiguous (the printer may have read it all): the error says `maybePrinted`, and the job is
 * sent again, because a spare label is cheaper than a missing one.
 */

export interface ZplTargetAddress {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

export type ZplErrorCode = LabelErrorCode | 'ABORTED';

export interface ZplPrintReceipt {
  /** The status that allowed printing. */
  readonly before: HostStatus;
  /** The status right after the printer read the label (it may now be out of labels). */
  readonly after: HostStatus;
  readonly bytes: number;
}

const HOST_STATUS = '~HS';
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EADDRNOTAVAIL',
]);

/** One connection, with a reader that waits for three host-status strings. */
class Connection {
  private buffer = '';
  private ended: string | undefined;
  private waiter: (() => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.ended ??= e.code ?? e.message;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.ended ??= 'closed';
      this.waiter?.();
    });
  }

  write(text: string): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.ended) {
        resolve(false);
        return;
      }
      this.socket.write(text, 'latin1', (e) => resolve(!e));
    });
  }

  /** Resolves with the three frames, or with why they did not come. */
  async status(
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ text: string } | { failed: 'timeout' | 'closed' | 'aborted'; reason?: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (hostStatusFrames(this.buffer).length >= 3) {
        const text = this.buffer;
        this.buffer = '';
        return { text };
      }
      if (signal?.aborted) return { failed: 'aborted' };
      if (this.ended) return { failed: 'closed', reason: this.ended };
      const left = deadline - Date.now();
      if (left <= 0) return { failed: 'timeout' };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const onAbort = () => done();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiter = done;
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
      });
      this.waiter = undefined;
    }
  }

  close(): void {
    this.ended ??= 'closed by us';
    this.socket.end();
    this.socket.destroy();
  }
}

const where = (t: ZplTargetAddress) => `${t.host}:${t.port}`;

const open = (target: ZplTargetAddress, signal?: AbortSignal): Promise<Result<Connection, ZplErrorCode>> =>
  new Promise((resolve) => {
    if (signal?.aborted) {
      resolve(err('ABORTED', 'Printing was cancelled.'));
      return;
    }
    const socket = connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      finish(
        labelErr(
          'LABEL_PRINTER_UNREACHABLE',
          `The label printer at ${where(target)} did not accept a connection within ${target.timeoutMs} ms.`,
          {
            details: { host: target.host, port: target.port },
          },
        ),
      );
    }, target.timeoutMs);
    const onAbort = () => finish(err('ABORTED', 'Printing was cancelled.'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const onError = (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      finish(
        UNREACHABLE_CODES.has(code)
          ? labelErr(
              'LABEL_PRINTER_UNREACHABLE',
              `The label printer at ${where(target)} cannot be reached (${code}).`,
              {
                details: { host: target.host, port: target.port, cause: code },
              },
            )
          : labelErr(
              'LABEL_PRINTER_DROPPED',
              `The connection to the label printer at ${where(target)} failed: ${e.message}.`,
              {
                details: {
                  host: target.host,
                  port: target.port,
                  cause: code || e.message,
                  maybePrinted: false,
                },
              },
            ),
      );
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      finish(ok(new Connection(socket)));
    });
    function finish(r: Result<Connection, ZplErrorCode>) {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (!r.ok) socket.destroy();
      resolve(r);
    }
  });

const askStatus = async (
  conn: Connection,
  target: ZplTargetAddress,
  afterLabel: boolean,
  signal?: AbortSignal,
): Promise<Result<HostStatus, ZplErrorCode>> => {
  const sent = await conn.write(HOST_STATUS);
  const answer = sent ? await conn.status(target.timeoutMs, signal) : ({ failed: 'closed' } as const);
  const facts = { host: target.host, port: target.port, maybePrinted: afterLabel };
  if ('text' in answer) {
    const parsed = parseHostStatus(answer.text);
    return parsed.ok
      ? parsed
      : labelErr(parsed.error.code, parsed.error.message, { details: { ...parsed.error.details, ...facts } });
  }
  if (answer.failed === 'aborted') return err('ABORTED', 'Printing was cancelled.', { details: facts });
  if (answer.failed === 'timeout')
    return labelErr(
      'LABEL_PRINTER_NO_ANSWER',
      afterLabel
        ? `The label printer at ${where(target)} took the label but did not confirm it within ${target.timeoutMs} ms; it is sent again.`
        : `The label printer at ${where(target)} did not answer its status request (~HS) within ${target.timeoutMs} ms.`,
      { details: facts },
    );
  return labelErr(
    'LABEL_PRINTER_DROPPED',
    afterLabel
      ? `The label printer at ${where(target)} dropped the connection before confirming the label; it is sent again.`
      : `The label printer at ${where(target)} dropped the connection before reporting its status.`,
    { details: { ...facts, cause: 'reason' in answer ? answer.reason : undefined } },
  );
};

/** Asks a printer whether it is ready, without printing (the engineer's "Test printer"). */
export const queryZplStatus = async (
  target: ZplTargetAddress,
  opts: { signal?: AbortSignal } = {},
): Promise<Result<HostStatus, ZplErrorCode>> => {
  const conn = await open(target, opts.signal);
  if (!conn.ok) return conn;
  try {
    return await askStatus(conn.value, target, false, opts.signal);
  } finally {
    conn.value.close();
  }
};

/** Prints one label: status first, then the label, then the confirming status. */
export const printZpl = async (
  target: ZplTargetAddress,
  zpl: string,
  opts: { signal?: AbortSignal } = {},
): Promise<Result<ZplPrintReceipt, ZplErrorCode>> => {
  const conn = await open(target, opts.signal);
  if (!conn.ok) return conn;
  try {
    const before = await askStatus(conn.value, target, false, opts.signal);
    if (!before.ok) return before;
    const ready = readiness(before.value);
    if (!ready.ok) return ready;
    // ZPL is ASCII (fields are ^FH-escaped), so latin1 sends it byte for byte.
    const sent = await conn.value.write(zpl);
    if (!sent)
      return labelErr(
        'LABEL_PRINTER_DROPPED',
        `The label printer at ${where(target)} dropped the connection while the label was sent; it is sent again.`,
        {
          details: { host: target.host, port: target.port, maybePrinted: true },
        },
      );
    const after = await askStatus(conn.value, target, true, opts.signal);
    if (!after.ok) return after;
    return ok({ before: before.value, after: after.value, bytes: Buffer.byteLength(zpl, 'latin1') });
  } finally {
    conn.value.close();
  }
};
