import { err, type LsError, ok, type Result, toLsError } from '../errors/result';
import { normalizeDeviceId, recognise } from '../usb/identity';
import { findSerialPath, type SerialPortLister } from '../usb/serial-ports';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';
import { type DeviceModule, getModuleInfo, requestDfuMode } from './requests';
import { DFU_BAUD, type SerialTouch } from './serial-trick';
import { type Reappeared, waitForDevice } from './wait-device';

/*
 * Moving a device into DFU mode and confirming it came back after DFU. Both end the same way: the
 * device must reappear on the same port path with the same device ID, or the slot gets a named
 * error and stays ready for a retry (nothing here holds a handle open after it returns).
 */

export interface ModeSwitchContext {
  readonly transport: UsbTransport;
  /** Finds the device's CDC port for the serial fallback. */
  readonly serialPorts?: SerialPortLister;
  /** Opens a serial port at a baud rate (the 14400-baud trick). Without it there is no fallback. */
  readonly serialTouch?: SerialTouch;
}

export interface EnterDfuOptions {
  /** How long the device may take to reappear in DFU mode. Default 30 s (particle-usb allows 60). */
  readonly timeoutMs?: number;
  /** Budget for the DFU_MODE control request; short, so an old Device OS is detected quickly. */
  readonly requestTimeoutMs?: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** The device's serial port path when already known (saves a listing). */
  readonly serialPath?: string | undefined;
}

export type EnterDfuVia = 'already' | 'control-request' | 'serial-14400';

export interface EnteredDfu {
  readonly device: UsbDeviceInfo;
  readonly via: EnterDfuVia;
  readonly elapsedMs: number;
  readonly idConfirmed: boolean;
}

/** Control-request failures after which the serial trick is worth trying. */
const FALLBACK_CODES = new Set([
  'PARTICLE_NO_ANSWER',
  'PARTICLE_REQUEST_NOT_SUPPORTED',
  'PARTICLE_REQUEST_TIMEOUT',
  'PARTICLE_PROTOCOL_ERROR',
]);

const withStep = (error: LsError, step: string): LsError => ({
  ...error,
  details: { ...(error.details ?? {}), step },
});

export const enterDfuMode = async (
  ctx: ModeSwitchContext,
  device: UsbDeviceInfo,
  options: EnterDfuOptions = {},
): Promise<Result<EnteredDfu>> => {
  const started = Date.now();
  const r = recognise(device);
  if (r.kind !== 'particle')
    return err('DEVICE_NOT_RECOGNISED', `The device on port ${device.portPath} is not a Particle device.`, {
      details: { vendorId: device.vendorId, productId: device.productId },
    });
  if (r.dfu)
    return ok({
      device,
      via: 'already',
      elapsedMs: 0,
      idConfirmed: normalizeDeviceId(device.serialNumber).valid,
    });

  const id = normalizeDeviceId(device.serialNumber);
  const deviceId = id.valid ? id.id : undefined;
  let via: EnterDfuVia = 'control-request';
  // Every enumeration on this port before the switch, so none of them counts as "came back".
  const before = new Set([device.key]);
  try {
    for (const d of await ctx.transport.list()) if (d.portPath === device.portPath) before.add(d.key);
  } catch (e) {
    return { ok: false, error: withStep(toLsError(e, 'USB_IO'), 'dfu-request') };
  }

  const request = await (async (): Promise<Result<void>> => {
    try {
      const handle = await ctx.transport.open(device, { signal: options.signal });
      try {
        const t = options.requestTimeoutMs ?? 3000;
        return await requestDfuMode(handle, { timeoutMs: t, transferTimeoutMs: t, signal: options.signal });
      } finally {
        await handle.close().catch(() => undefined);
      }
    } catch (e) {
      return { ok: false, error: toLsError(e, 'USB_IO') };
    }
  })();

  if (!request.ok) {
    if (!FALLBACK_CODES.has(request.error.code))
      return { ok: false, error: withStep(request.error, 'dfu-request') };
    if (!ctx.serialTouch)
      return {
        ok: false,
        error: withStep(
          {
            ...request.error,
            remedy:
              'This device needs the serial fallback (14400 baud), which is not available here. Update Device OS or put the device in DFU mode by hand (hold MODE, tap RESET, release MODE on yellow blink).',
          },
          'dfu-request',
        ),
      };
    let serialPath = options.serialPath;
    if (!serialPath && ctx.serialPorts) serialPath = findSerialPath(await ctx.serialPorts(), device);
    if (!serialPath)
      return err(
        'DFU_ENTRY_FAILED',
        `The device on port ${device.portPath} ignored the DFU request (${request.error.code}) and has no serial port to fall back on.`,
        {
          remedy:
            'Put the device in DFU mode by hand (hold MODE, tap RESET, release MODE on yellow blink), or check that its serial port is visible (udev rules).',
          details: { portPath: device.portPath, cause: request.error.code, step: 'dfu-serial' },
        },
      );
    const touched = await ctx.serialTouch(serialPath, DFU_BAUD);
    if (!touched.ok) return { ok: false, error: withStep(touched.error, 'dfu-serial') };
    via = 'serial-14400';
  }

  const back = await waitForDevice(
    ctx.transport,
    { portPath: device.portPath, deviceId, mode: 'dfu', excludeKeys: [...before] },
    { timeoutMs: options.timeoutMs ?? 30_000, pollMs: options.pollMs, signal: options.signal },
  );
  if (!back.ok) return { ok: false, error: withStep(back.error, 'dfu-wait') };
  return ok({
    device: back.value.device,
    via,
    elapsedMs: Date.now() - started,
    idConfirmed: back.value.idConfirmed,
  });
};

export interface ConfirmOptions {
  readonly timeoutMs?: number;
  readonly pollMs?: number;
  readonly signal?: AbortSignal | undefined;
  /** Also read MODULE_INFO from the device once it is back (the versions now in flash). */
  readonly readModules?: boolean;
  readonly requestTimeoutMs?: number;
}

export interface Confirmed extends Reappeared {
  /** Module versions as the device reports them, when asked and the device answered. */
  readonly modules?: readonly DeviceModule[];
  /** Why modules are missing when they were asked for (old Device OS, busy): not a failure. */
  readonly modulesError?: LsError;
}

/**
 * After the DFU engine left DFU mode: waits for the device to come back in normal mode on the same
 * port path with the same ID, and reports how long that took.
 */
export const confirmBackInNormalMode = async (
  ctx: Pick<ModeSwitchContext, 'transport'>,
  expected: { portPath: string; deviceId: string | undefined; dfuKey?: string },
  options: ConfirmOptions = {},
): Promise<Result<Confirmed>> => {
  const back = await waitForDevice(
    ctx.transport,
    {
      portPath: expected.portPath,
      deviceId: expected.deviceId,
      mode: 'normal',
      excludeKeys: expected.dfuKey ? [expected.dfuKey] : [],
    },
    { timeoutMs: options.timeoutMs ?? 30_000, pollMs: options.pollMs, signal: options.signal },
  );
  if (!back.ok) return { ok: false, error: withStep(back.error, 'confirm') };
  if (!options.readModules) return ok(back.value);
  try {
    const handle = await ctx.transport.open(back.value.device, { signal: options.signal });
    try {
      const t = options.requestTimeoutMs ?? 3000;
      const modules = await getModuleInfo(handle, {
        timeoutMs: t,
        transferTimeoutMs: t,
        signal: options.signal,
      });
      return ok(
        modules.ok
          ? { ...back.value, modules: modules.value }
          : { ...back.value, modulesError: modules.error },
      );
    } finally {
      await handle.close().catch(() => undefined);
    }
  } catch (e) {
    return ok({ ...back.value, modulesError: toLsError(e, 'USB_IO') });
  }
};
