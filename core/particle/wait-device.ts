import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import { normalizeDeviceId, recognise } from '../usb/identity';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';

/*
 * Waiting for a device to come back after it re-enumerated (DFU_MODE, RESET, DFU leave). The slot
 * is the port path, so we wait for THAT path to show the expected mode with the SAME device ID.
 * Hot-plug events wake us early; polling (every 500 ms like particle-usb) covers transports
 * without events. Anything else on that path, or our device on another path, is a named error:
 * flashing or registering the wrong board is the one mistake a line station must never make.
 */

export type WaitErrorCode =
  | 'DEVICE_NEVER_CAME_BACK'
  | 'DEVICE_ID_MISMATCH'
  | 'DEVICE_CHANGED_PORT'
  | 'DEVICE_WRONG_MODE'
  | 'ABORTED'
  | 'USB_UNAVAILABLE'
  | 'USB_IO';

export interface WaitTarget {
  readonly portPath: string;
  /** The device ID we expect back; undefined when the original ID was never known. */
  readonly deviceId: string | undefined;
  readonly mode: 'dfu' | 'normal';
  /**
   * Enumeration keys that existed before the switch and must not count as "came back". When given,
   * our device reappearing under a NEW key in the other mode is reported at once (DEVICE_WRONG_MODE).
   */
  readonly excludeKeys?: readonly string[];
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal | undefined;
}

export interface Reappeared {
  readonly device: UsbDeviceInfo;
  readonly elapsedMs: number;
  /** False when the device came back with a serial that is not a device ID (old bootloader). */
  readonly idConfirmed: boolean;
}

const modeText = (mode: 'dfu' | 'normal'): string => (mode === 'dfu' ? 'DFU mode' : 'normal mode');

type Verdict =
  | { readonly kind: 'found'; readonly value: Reappeared }
  | { readonly kind: 'error'; readonly error: LsError<WaitErrorCode> };

const judge = (list: readonly UsbDeviceInfo[], target: WaitTarget, started: number): Verdict | undefined => {
  const exclude = new Set(target.excludeKeys ?? []);
  for (const info of list) {
    if (exclude.has(info.key)) continue;
    const r = recognise(info);
    if (r.kind !== 'particle') continue;
    const id = normalizeDeviceId(info.serialNumber);
    if ((r.dfu ? 'dfu' : 'normal') !== target.mode) {
      // Our device re-enumerated (a new key) but in the other mode: it reset without switching
      // (the request was lost, or the firmware refused). Waiting longer would not change that.
      if (
        exclude.size > 0 &&
        info.portPath === target.portPath &&
        target.deviceId &&
        id.id === target.deviceId
      )
        return {
          kind: 'error',
          error: {
            code: 'DEVICE_WRONG_MODE',
            message: `Device ${target.deviceId} restarted in ${modeText(target.mode === 'dfu' ? 'normal' : 'dfu')} instead of ${modeText(target.mode)}.`,
            remedy: 'Retry; if it keeps happening, put the device in the mode by hand and retry.',
            details: { portPath: info.portPath, deviceId: target.deviceId, expected: target.mode },
          },
        };
      continue;
    }
    const elapsedMs = Date.now() - started;
    if (info.portPath === target.portPath) {
      if (target.deviceId && id.valid && id.id !== target.deviceId)
        return {
          kind: 'error',
          error: {
            code: 'DEVICE_ID_MISMATCH',
            message: `A different device (${id.id}) appeared on port ${info.portPath} where ${target.deviceId} was expected in ${modeText(target.mode)}.`,
            remedy: 'Unplug the devices on this slot, plug in one device, and retry.',
            details: { portPath: info.portPath, expected: target.deviceId, found: id.id },
          },
        };
      return {
        kind: 'found',
        value: { device: info, elapsedMs, idConfirmed: Boolean(target.deviceId) && id.valid },
      };
    }
    if (target.deviceId && id.valid && id.id === target.deviceId)
      return {
        kind: 'error',
        error: {
          code: 'DEVICE_CHANGED_PORT',
          message: `Device ${target.deviceId} came back on port ${info.portPath} instead of ${target.portPath}.`,
          remedy:
            'Keep each device on its slot while it is provisioned; check the hub and cable, then retry.',
          details: { deviceId: target.deviceId, expected: target.portPath, found: info.portPath },
        },
      };
  }
  return undefined;
};

/** How long listings may keep failing while the bus settles before the wait gives up. */
const LIST_SETTLE_MS = 1000;

export const waitForDevice = async (
  transport: UsbTransport,
  target: WaitTarget,
  options: WaitOptions,
): Promise<Result<Reappeared, WaitErrorCode>> => {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const pollMs = options.pollMs ?? 500;
  let listFailingSince: number | undefined;
  let wake: (() => void) | undefined;
  const unwatch = transport.watch((event) => {
    if (event.type === 'attach') wake?.();
  });
  const onAbort = (): void => wake?.();
  options.signal?.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (options.signal?.aborted) return err('ABORTED', 'The operation was cancelled.');
      let list: UsbDeviceInfo[];
      try {
        list = await transport.list();
        listFailingSince = undefined;
      } catch (e) {
        // A device re-enumerating right now can make one listing fail (the OS lists it before it
        // can be read); only a listing that keeps failing ends the wait.
        listFailingSince ??= Date.now();
        const now = Date.now();
        if (now - listFailingSince < LIST_SETTLE_MS && now < deadline) {
          await new Promise((r) => setTimeout(r, Math.min(pollMs, 100, deadline - now)));
          continue;
        }
        const error = toLsError(e, 'USB_IO');
        return {
          ok: false,
          error: { ...error, code: error.code === 'USB_UNAVAILABLE' ? 'USB_UNAVAILABLE' : 'USB_IO' },
        };
      }
      const verdict = judge(list, target, started);
      if (verdict?.kind === 'found') return ok(verdict.value);
      if (verdict?.kind === 'error') return { ok: false, error: verdict.error };
      const left = deadline - Date.now();
      if (left <= 0)
        return err(
          'DEVICE_NEVER_CAME_BACK',
          `${target.deviceId ? `Device ${target.deviceId}` : 'The device'} did not come back in ${modeText(target.mode)} on port ${target.portPath} within ${(options.timeoutMs / 1000).toFixed(1)} s.`,
          {
            remedy: 'Re-seat the USB cable; if the LED is dark or solid, reset the device and retry.',
            details: {
              portPath: target.portPath,
              deviceId: target.deviceId,
              mode: target.mode,
              timeoutMs: options.timeoutMs,
            },
          },
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.min(pollMs, left));
        function done(): void {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    unwatch();
    options.signal?.removeEventListener('abort', onAbort);
  }
};
