import { type LsError, LsFailure } from '../errors/result';
import { requestReset } from '../particle/requests';
import { isSetupDone, setSetupDone } from '../particle/setup-done';
import { waitForDevice } from '../particle/wait-device';
import type { Platform } from '../platforms';
import type { UsbDeviceHandle, UsbDeviceInfo, UsbTransport } from '../usb/transport';
import type { PhaseResult } from './types';

/** Device OS 4.0.0: from here SET_DEVICE_SETUP_DONE is a no-op and IS always answers true. */
const SETUP_DONE_NO_OP_FROM = 4000;

/** Why a device needs no setup-done flag, or undefined when it does (Gen 3 before Device OS 4.0). */
export const setupDoneSkipReason = (
  platform: Platform,
  systemVersion: number | undefined,
): string | undefined => {
  if (platform.generation !== 3) return `skipped: not needed on ${platform.displayName}`;
  if (systemVersion === undefined) return undefined;
  if (systemVersion >= SETUP_DONE_NO_OP_FROM)
    return `skipped: not needed on Device OS ${systemVersion} (4.0+)`;
  return undefined;
};

/**
 * Gen 3 devices on Device OS 3.x boot into listening mode (blinking dark blue) until the flag is
 * set: a customer would unbox a device that seems broken. Sets it, then resets the device and
 * reads it back after the reboot, since a flag that is not kept shows only then.
 */
export const markSetupDone = async (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  platform: Platform,
  systemVersion: number | undefined,
  options: { signal: AbortSignal; pollMs?: number | undefined; timeoutMs?: number | undefined },
): Promise<PhaseResult & { device: UsbDeviceInfo }> => {
  const { signal } = options;
  const skip = setupDoneSkipReason(platform, systemVersion);
  if (skip) return { setupDone: skip as `skipped: ${string}`, device };
  await withHandle(transport, device, signal, async (handle) => {
    const set = await setSetupDone(handle, true, { signal });
    if (!set.ok) fail({ ...set.error, message: `Setup done could not be set: ${set.error.message}` });
    const reset = await requestReset(handle, { signal });
    if (!reset.ok) fail({ ...reset.error, message: `The device did not restart: ${reset.error.message}` });
  });
  const back = await waitForDevice(
    transport,
    {
      portPath: device.portPath,
      deviceId: device.serialNumber?.toLowerCase(),
      mode: 'normal',
      excludeKeys: [device.key],
    },
    {
      timeoutMs: options.timeoutMs ?? 30_000,
      signal,
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    },
  );
  if (!back.ok) return fail(back.error);
  const kept = await withHandle(transport, back.value.device, signal, async (handle) => {
    const read = await isSetupDone(handle, { signal });
    if (!read.ok)
      return fail({ ...read.error, message: `Setup done could not be read back: ${read.error.message}` });
    return read.value;
  });
  if (!kept)
    fail({
      code: 'SETUP_DONE_NOT_KEPT',
      message:
        'The device lost the setup-done flag when it restarted: it would boot into listening mode at the customer.',
      remedy: 'Retry the device; if it persists, set it aside (its configuration storage may be faulty).',
    });
  return { setupDone: 'set', device: back.value.device };
};

const fail = (e: LsError): never => {
  throw new LsFailure(e);
};

const withHandle = async <T>(
  transport: UsbTransport,
  device: UsbDeviceInfo,
  signal: AbortSignal,
  fn: (handle: UsbDeviceHandle) => Promise<T>,
): Promise<T> => {
  const handle = await transport.open(device, { signal });
  try {
    return await fn(handle);
  } finally {
    await handle.close().catch(() => undefined);
  }
};
