import { err, type LsError, LsFailure, ok, type Result, toLsError } from '../errors/result';
import type { InspectedFile, SetPlan } from '../firmware/types';
import { type Platform, platformById, platformByUsbId } from '../platforms';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';
import { readDeviceState } from './device-state';
import { type InstallOptions, type InstallReport, installSet } from './install-set';
import { planForDevice } from './plan-for-device';
import type { InstallRunner } from './types';

/*
 * `linestation flash`: one device, chosen by ID or port, gets a whole set (any platform) through
 * the same installSet the station runs. The CLI parses and prints; this does the rest.
 */

export interface FlashOneRequest {
  readonly transport: UsbTransport;
  readonly select: { readonly deviceId?: string | undefined; readonly portPath?: string | undefined };
  readonly files: readonly InspectedFile[];
  /** The product whose files these are (0: no product check, an engineer's bench flash). */
  readonly productId?: number | undefined;
  readonly skipWhenCurrent?: boolean | undefined;
  /** What a device in DFU mode (which cannot list its modules) runs, when the engineer knows. */
  readonly deviceOsVersion?: number | undefined;
  readonly install: Omit<InstallOptions, 'serviceMode'>;
  readonly signal?: AbortSignal | undefined;
  /** Told the plan once the device is known, before anything is written. */
  readonly onPlan?:
    | ((plan: SetPlan, device: UsbDeviceInfo, platform: Platform, unchecked: readonly LsError[]) => void)
    | undefined;
}

export interface FlashOneResult extends InstallReport {
  readonly plan: SetPlan;
  readonly platform: Platform;
  /** The device as it was found. */
  readonly found: UsbDeviceInfo;
}

export interface FlashOneFailure extends LsError {
  /** How far it got: the plan, when one was made, and the device found. */
  readonly plan?: SetPlan | undefined;
  readonly found?: UsbDeviceInfo | undefined;
  readonly platform?: Platform | undefined;
}

/** The one attached Particle device with this ID (USB serial) or on this port path. */
export const findOneDevice = async (
  transport: UsbTransport,
  select: FlashOneRequest['select'],
): Promise<Result<{ device: UsbDeviceInfo; platform: Platform; dfu: boolean }>> => {
  let all: UsbDeviceInfo[];
  try {
    all = await transport.list();
  } catch (e) {
    const inner = (e as { error?: LsError }).error;
    return { ok: false, error: inner ?? toLsError(e, 'USB_IO') };
  }
  const particle = all.flatMap((d) => {
    const known = platformByUsbId(d.vendorId, d.productId);
    return known ? [{ d, ...known }] : [];
  });
  const wanted = select.deviceId?.toLowerCase();
  const match = particle.filter((p) =>
    wanted ? p.d.serialNumber?.toLowerCase() === wanted : p.d.portPath === select.portPath,
  );
  const what = wanted ? `device ${wanted}` : `port ${select.portPath}`;
  if (match.length === 0)
    return err(
      'DEVICE_NOT_FOUND',
      `No Particle device found for ${what} (${particle.length} Particle device(s) attached).`,
      { remedy: 'Check the cable; "linestation devices" lists what is attached.' },
    );
  const [m, second] = match;
  if (!m || second)
    return err('DEVICE_AMBIGUOUS', `More than one device matches ${what}.`, {
      remedy: 'Select it with --port.',
    });
  return ok({ device: m.d, platform: m.platform, dfu: m.mode === 'dfu' });
};

/**
 * Finds the device, reads what it runs and whether it is protected, plans the set for it, tells
 * the plan, and installs it. Every refusal before a write comes back as a named error.
 */
export const flashOneDevice = async (
  req: FlashOneRequest,
  runner: InstallRunner,
): Promise<Result<FlashOneResult, string> | { ok: false; error: FlashOneFailure }> => {
  const found = await findOneDevice(req.transport, req.select);
  if (!found.ok) return found;
  const { device, platform, dfu } = found.value;
  const fileIds = new Set(req.files.flatMap((f) => (f.module ? [f.module.platformId] : [])));
  const other = [...fileIds].find((id) => id !== platform.id);
  if (other !== undefined)
    return err(
      'FIRMWARE_WRONG_PLATFORM',
      `The files are for ${platformById(other)?.name ?? `platform ${other}`}, but the device on ${device.portPath} is a ${platform.name}.`,
      { remedy: 'Pick the files built for this device, or plug in the device they are for.' },
    );
  const signal = req.signal ?? new AbortController().signal;
  const state = await readDeviceState(req.transport, device, dfu, signal);
  if (state.protection === 'protected' || state.protection === 'service')
    return err(
      'DEVICE_PROTECTED',
      `The device on ${device.portPath} has Device Protection on: it takes firmware only in Service Mode, which needs the product's cloud.`,
      {
        remedy:
          'Provision it from a station whose profile declares deviceProtection (linestation run), which asks the cloud for Service Mode.',
      },
    );
  const { plan: planned, unchecked } = planForDevice(
    req.files,
    {
      platformId: platform.id,
      productId: req.productId ?? 0,
      mode: 'flash-on-line',
      ...(req.deviceOsVersion !== undefined ? { deviceOsVersion: req.deviceOsVersion } : {}),
    },
    { inDfu: dfu, state, skipWhenCurrent: req.skipWhenCurrent === true },
  );
  const plan: SetPlan = { ...planned, errors: [...planned.errors] };
  // An engineer's bench flash writes what it is given: a set without an application is a product
  // rule (a line device must run the product firmware), not a reason to refuse a lone system part.
  if (!req.productId) plan.errors = plan.errors.filter((e) => e.code !== 'FIRMWARE_NO_APPLICATION');
  req.onPlan?.(plan, device, platform, unchecked);
  const first = plan.errors[0];
  if (first) return { ok: false, error: { ...first, plan, found: device, platform } };
  const deviceId = (device.serialNumber ?? '').toLowerCase();
  try {
    const report = await installSet(
      {
        transport: req.transport,
        device,
        deviceId,
        platform,
        protection: state.protection,
        systemVersion: state.systemVersion,
      },
      plan,
      req.install,
      runner,
    );
    return ok({ ...report, plan, platform, found: device });
  } catch (e) {
    const error = e instanceof LsFailure ? (e.error as LsError) : toLsError(e);
    return { ok: false, error: { ...error, plan, found: device, platform } };
  }
};
