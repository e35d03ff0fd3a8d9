import { z } from 'zod';
import { err, ok, type Result } from '../errors/result';
import { normalizeDeviceId } from '../usb/identity';
import { classifySerialOpenError } from './serial-trick';

/*
 * Listening mode (blinking blue) answers one-letter commands on its USB serial port at 9600 baud:
 *   i  "Your device id is <24 hex>" (+ "Your IMEI is …"/"IMEI: …" and ICCID lines on cellular), or
 *      Device OS's key/value listing: "Device ID: <24 hex>", then "Device Secret: …",
 *      "Serial Number: …", and on cellular devices "IMEI: …", "ICCID: …", "Cell Radio Version: …"
 *      (system_setup.cpp; the IMEI/ICCID values are blank when the modem could not be read). The
 *      device secret is never parsed, kept or echoed in an error.
 *   v  "system firmware version: <semver>"
 *   s  the module table as JSON ({"p":6,"m":[{"s":…,"l":"m","vc":…,"vv":…,"f":"b","n":"0","v":…,"d":[…]}]})
 * Formats follow Device OS (system/src/system_info.cpp, serial setup console) and the patterns
 * particle-cli matches. A serial line delivers bytes in arbitrary pieces and may carry noise
 * (log output, a half-sent previous answer), so each parser scans the accumulated text for a
 * COMPLETE answer and the wait ends on that, on a timeout, or when the port goes away.
 */

export type ListeningErrorCode =
  | 'LISTENING_NO_RESPONSE'
  | 'LISTENING_PARTIAL_REPLY'
  | 'LISTENING_UNEXPECTED_REPLY'
  | 'LISTENING_BAD_JSON'
  | 'SERIAL_ACCESS_DENIED'
  | 'SERIAL_BUSY'
  | 'SERIAL_NOT_FOUND'
  | 'SERIAL_OPEN_FAILED'
  | 'SERIAL_CLOSED'
  | 'SERIAL_WRITE_FAILED';

/** The byte pipe to the device: a serialport in production, anything duplex in tests. */
export interface SerialLink {
  write(data: string): Promise<void>;
  onData(listener: (chunk: Uint8Array) => void): () => void;
  onClose(listener: () => void): () => void;
  close(): Promise<void>;
}

export type SerialLinkOpener = (path: string, baudRate: number) => Promise<SerialLink>;

/** Opens a real serial port with the `serialport` package. */
export const openSerialPortLink: SerialLinkOpener = async (path, baudRate) => {
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  return {
    write: (data) =>
      new Promise((resolve, reject) => {
        port.write(data, (e) => (e ? reject(e) : port.drain((e2) => (e2 ? reject(e2) : resolve()))));
      }),
    onData: (listener) => {
      const h = (chunk: Buffer): void => listener(chunk);
      port.on('data', h);
      return () => port.off('data', h);
    },
    onClose: (listener) => {
      port.on('close', listener);
      return () => port.off('close', listener);
    },
    close: () =>
      new Promise((resolve) => {
        if (!port.isOpen) {
          resolve();
          return;
        }
        port.close(() => resolve());
      }),
  };
};

export const LISTENING_BAUD_RATE = 9600;

export interface Identification {
  readonly deviceId: string;
  readonly imei?: string;
  readonly iccid?: string;
  /** The sticker serial, from Device OS's "Serial Number: …" line. */
  readonly serialNumber?: string;
}

const listeningModule = z.object({
  s: z.number().optional(),
  l: z.string().optional(),
  vc: z.number().optional(),
  vv: z.number().optional(),
  u: z.string().optional(),
  f: z.string().optional(),
  n: z.string().optional(),
  v: z.number().optional(),
  d: z.array(z.object({ f: z.string(), n: z.string(), v: z.number() })).optional(),
});

const listeningInfo = z.looseObject({
  p: z.number(),
  imei: z.string().optional(),
  iccid: z.string().optional(),
  m: z.array(listeningModule),
});

export type ListeningModuleInfo = z.infer<typeof listeningInfo>;

// ---- parsers: text so far -> a complete answer, or undefined to keep waiting ----

type Parse<T> = (text: string) => { done: true; value: Result<T, ListeningErrorCode> } | undefined;

const ID_LINE = /(?:your (?:device|core) id is|device id:)\s*([0-9a-fA-F]{24})[ \t]*\r?\n/i;
const IMEI = /(?:your imei is|imei:)\s*([0-9]{14,16})[ \t]*\r?\n/i;
const ICCID = /(?:your iccid is|iccid:)\s*([0-9A-Fa-f]{18,22})[ \t]*\r?\n/i;
// The key/value listing prints IMEI and ICCID lines even when the modem gave nothing: a blank line
// is a complete answer ("unreadable"), not a reason to wait for more.
const IMEI_LINE = /(?:your imei is|imei:)[ \t]*([0-9]*)[ \t]*\r?\n/i;
const ICCID_LINE = /(?:your iccid is|iccid:)[ \t]*([0-9A-Fa-f]*)[ \t]*\r?\n/i;
const SERIAL_LINE = /serial number:[ \t]*([\x21-\x7e]{1,16})[ \t]*\r?\n/i;
const VERSION = /system firmware version:\s*([0-9A-Za-z.+-]+)[^\r\n]*\r?\n/i;

/**
 * `cellular`: wait for the IMEI and ICCID lines (blank ones count). `serialNumber`: wait for the
 * "Serial Number" line. The timeout ends either wait with what arrived (a device with no serial
 * programmed never prints the line).
 */
export const parseIdentification = (
  text: string,
  cellular: boolean,
  serialNumber = false,
): ReturnType<Parse<Identification>> => {
  const id = ID_LINE.exec(text);
  if (!id?.[1]) return undefined;
  const imei = IMEI.exec(text)?.[1];
  const iccid = ICCID.exec(text)?.[1];
  const serial = SERIAL_LINE.exec(text)?.[1];
  // A cellular device prints IMEI and ICCID after the ID: wait for them (the timeout ends the wait
  // with what we have if the modem never reports).
  if (cellular && !((imei || IMEI_LINE.test(text)) && (iccid || ICCID_LINE.test(text)))) return undefined;
  if (serialNumber && !serial) return undefined;
  return {
    done: true,
    value: ok({
      deviceId: normalizeDeviceId(id[1]).id,
      ...(imei ? { imei } : {}),
      ...(iccid ? { iccid } : {}),
      ...(serial ? { serialNumber: serial } : {}),
    }),
  };
};

export const parseSystemVersion = (text: string): ReturnType<Parse<string>> => {
  const m = VERSION.exec(text);
  return m?.[1] ? { done: true, value: ok(m[1]) } : undefined;
};

/** Finds the first balanced {...} (string-aware), so noise before and after is ignored. */
const firstJsonObject = (text: string): string | undefined => {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  return undefined;
};

export const parseModuleInfo = (text: string): ReturnType<Parse<ListeningModuleInfo>> => {
  const json = firstJsonObject(text);
  if (!json) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return {
      done: true,
      value: err(
        'LISTENING_BAD_JSON',
        `The device's module info is not valid JSON (${(e as Error).message}).`,
        {
          details: { excerpt: json.slice(0, 200) },
        },
      ),
    };
  }
  const parsed = listeningInfo.safeParse(raw);
  if (!parsed.success)
    return {
      done: true,
      value: err('LISTENING_BAD_JSON', 'The device sent module info in an unexpected shape.', {
        details: { issues: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) },
      }),
    };
  return { done: true, value: ok(parsed.data) };
};

export interface CommandOptions {
  /** How long to wait for a complete answer. Default 3 s. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal | undefined;
}

/** What an error may quote of a reply: printable, short, and never the device secret of an `i` listing. */
const printable = (s: string): string =>
  s
    .replace(/(device secret:)[^\r\n]*/gi, '$1 [REDACTED]')
    .replace(/[^\x20-\x7e\r\n]/g, '?')
    .slice(-200);

export class ListeningSerial {
  private buffer = '';
  private closed = false;
  private wake: (() => void) | undefined;
  private readonly offData: () => void;
  private readonly offClose: () => void;

  constructor(
    private readonly link: SerialLink,
    readonly path: string,
  ) {
    const decoder = new TextDecoder('latin1');
    this.offData = link.onData((chunk) => {
      this.buffer += decoder.decode(chunk);
      // Bound memory if a device streams logs forever.
      if (this.buffer.length > 64 * 1024) this.buffer = this.buffer.slice(-32 * 1024);
      this.wake?.();
    });
    this.offClose = link.onClose(() => {
      this.closed = true;
      this.wake?.();
    });
  }

  /**
   * `i`: the device ID (and IMEI/ICCID on cellular devices, the serial number where Device OS lists
   * it). `serialNumber: true` waits for the serial line as `cellular` waits for IMEI and ICCID.
   */
  identify(
    options: CommandOptions & { cellular?: boolean; serialNumber?: boolean } = {},
  ): Promise<Result<Identification, ListeningErrorCode>> {
    // Cellular devices get until the timeout to add IMEI and ICCID; if the modem never reports
    // them, the ID alone is still the answer.
    return this.command(
      'i',
      'device ID',
      (t) => parseIdentification(t, options.cellular ?? false, options.serialNumber ?? false),
      options,
      (t) => parseIdentification(t, false),
    );
  }

  /** `v`: the Device OS (system firmware) version. */
  systemVersion(options: CommandOptions = {}): Promise<Result<string, ListeningErrorCode>> {
    return this.command('v', 'system version', parseSystemVersion, options);
  }

  /** `s`: the module table as JSON. */
  moduleInfo(options: CommandOptions = {}): Promise<Result<ListeningModuleInfo, ListeningErrorCode>> {
    return this.command('s', 'module info', parseModuleInfo, options);
  }

  async close(): Promise<void> {
    this.offData();
    this.offClose();
    this.closed = true;
    await this.link.close().catch(() => undefined);
  }

  private async command<T>(
    letter: string,
    what: string,
    parse: Parse<T>,
    options: CommandOptions,
    /** Tried once the wait is over, for answers that are complete enough without their optional tail. */
    final?: Parse<T>,
  ): Promise<Result<T, ListeningErrorCode>> {
    if (this.closed) return err('SERIAL_CLOSED', `Serial port ${this.path} is closed.`);
    // Whatever arrived before our command (log lines, a late answer) is not the answer to it.
    this.buffer = '';
    try {
      await this.link.write(letter);
    } catch (e) {
      return err(
        'SERIAL_WRITE_FAILED',
        `Writing to serial port ${this.path} failed: ${(e as Error).message}`,
        {
          remedy: 'Check the cable and retry.',
        },
      );
    }
    const timeoutMs = options.timeoutMs ?? 3000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const parsed = parse(this.buffer);
      if (parsed) return parsed.value;
      const left = deadline - Date.now();
      if (this.closed || left <= 0 || options.signal?.aborted) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const onAbort = (): void => done();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        function done(): void {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        this.wake = done;
      });
      this.wake = undefined;
    }
    if (options.signal?.aborted) return err('SERIAL_CLOSED', 'The operation was cancelled.');
    const enough = final?.(this.buffer);
    if (enough) return enough.value;
    if (this.closed && this.buffer.length === 0)
      return err('SERIAL_CLOSED', `Serial port ${this.path} closed before the device answered.`, {
        remedy: 'Check the cable; the device may have reset.',
      });
    const text = this.buffer;
    const secs = (timeoutMs / 1000).toFixed(1);
    if (text.trim().length === 0)
      return err(
        'LISTENING_NO_RESPONSE',
        `The device on ${this.path} did not answer the "${letter}" (${what}) command within ${secs} s.`,
        {
          remedy: 'Put the device in listening mode (hold MODE until the LED blinks blue), then retry.',
          details: { path: this.path, command: letter },
        },
      );
    const started =
      letter === 'i'
        ? ID_LINE.test(`${text}\n`) || /device id/i.test(text)
        : text.includes(letter === 's' ? '{' : 'version');
    if (started)
      return err('LISTENING_PARTIAL_REPLY', `The device on ${this.path} sent an incomplete ${what} reply.`, {
        remedy: 'Retry; if it persists, check the cable or close other programs using the port.',
        details: { path: this.path, command: letter, received: printable(text) },
      });
    return err(
      'LISTENING_UNEXPECTED_REPLY',
      `The device on ${this.path} answered "${letter}" with something other than its ${what}.`,
      {
        remedy:
          'The device may not be in listening mode (hold MODE until the LED blinks blue), or another program is writing to the port.',
        details: { path: this.path, command: letter, received: printable(text) },
      },
    );
  }
}

/** Opens a device's serial port at 9600 baud for listening-mode commands. */
export const openListeningSerial = async (
  path: string,
  options: { open?: SerialLinkOpener; baudRate?: number } = {},
): Promise<Result<ListeningSerial, ListeningErrorCode>> => {
  try {
    const link = await (options.open ?? openSerialPortLink)(path, options.baudRate ?? LISTENING_BAUD_RATE);
    return ok(new ListeningSerial(link, path));
  } catch (e) {
    return classifySerialOpenError(path, e);
  }
};
