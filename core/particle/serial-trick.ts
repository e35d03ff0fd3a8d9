import { err, ok, type Result } from '../errors/result';

/*
 * The line-coding trick: any Device OS with a USB CDC port watches the baud rate the host sets.
 * 14400 baud reboots it into DFU mode, 28800 into listening mode. The host only has to open the
 * port at that rate (which sends SET_LINE_CODING) and close it again; no byte is exchanged. This
 * is what still works on factory-fresh devices whose Device OS predates control requests.
 */

/** The slice of a serialport binding (real, or @serialport/binding-mock in tests) the trick needs. */
export interface SerialOpenBinding {
  open(options: { path: string; baudRate: number }): Promise<{ close(): Promise<void> }>;
}

export const DFU_BAUD = 14400;
export const LISTENING_BAUD = 28800;

/** Opens `path` at `baudRate` and closes it again. Injected so tests use a mock binding. */
export type SerialTouch = (path: string, baudRate: number) => Promise<Result<void>>;

export type SerialTouchErrorCode =
  | 'SERIAL_ACCESS_DENIED'
  | 'SERIAL_BUSY'
  | 'SERIAL_NOT_FOUND'
  | 'SERIAL_OPEN_FAILED';

export const classifySerialOpenError = (path: string, e: unknown): Result<never, SerialTouchErrorCode> => {
  const text = e instanceof Error ? e.message : String(e);
  if (/EACCES|permission denied/i.test(text))
    return err('SERIAL_ACCESS_DENIED', `Permission denied opening serial port ${path}.`, {
      remedy:
        'Install the linestation udev rules (packaging/linux/99-linestation-particle.rules) or add the user to the "dialout" group, then replug.',
      details: { path, cause: text },
    });
  if (/EBUSY|busy|lock/i.test(text))
    return err('SERIAL_BUSY', `Serial port ${path} is in use by another program.`, {
      remedy:
        'Close serial monitors (particle serial monitor, screen, minicom) and make sure ModemManager ignores Particle devices.',
      details: { path, cause: text },
    });
  if (/ENOENT|no such file|not found/i.test(text))
    return err(
      'SERIAL_NOT_FOUND',
      `Serial port ${path} does not exist (the device may have re-enumerated).`,
      {
        remedy: 'Check the cable and retry.',
        details: { path, cause: text },
      },
    );
  return err('SERIAL_OPEN_FAILED', `Serial port ${path} could not be opened: ${text}`, { details: { path } });
};

/** A SerialTouch over any serialport binding (the real one by default). */
export const serialTouch =
  (binding?: SerialOpenBinding): SerialTouch =>
  async (path, baudRate) => {
    try {
      const b: SerialOpenBinding = binding ?? (await import('serialport')).SerialPort.binding;
      const port = await b.open({ path, baudRate });
      // Give the device's USB stack a moment to act on SET_LINE_CODING before the port closes,
      // as particle-cli does; closing at once can race the reset on some hosts.
      await new Promise((r) => setTimeout(r, 50));
      await port.close().catch(() => undefined);
      return ok(undefined);
    } catch (e) {
      return classifySerialOpenError(path, e);
    }
  };
