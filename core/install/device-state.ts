import { DfuSession } from '../dfu/session';
import { toLsError } from '../errors/result';
import type { InstalledAsset, InstalledModule } from '../firmware/types';
import {
  getAssetInfo,
  getModuleInfo,
  getProtectedState,
  type ProtectionMode,
  readDfuProtection,
} from '../particle';
import type { UsbDeviceInfo, UsbTransport } from '../usb/transport';

/** What a device says about itself at identify, beyond its ID: what it runs, and its protection. */
export interface DeviceState {
  /** MODULE_INFO in normal mode; undefined in DFU mode or where the device does not say. */
  readonly modules?: readonly InstalledModule[] | undefined;
  /** The system part's version (Device OS 4.0.0 = 4000), when the modules say it. */
  readonly systemVersion?: number | undefined;
  /**
   * GET_ASSET_INFO in normal mode (Device OS 5.5+): the assets the device stores, by name and
   * content hash; undefined in DFU mode or where the device does not say (older Device OS).
   */
  readonly assets?: readonly InstalledAsset[] | undefined;
  readonly protection?: ProtectionMode | undefined;
  /** Why something could not be read: kept in the log, never a failure on its own. */
  readonly notes: readonly string[];
}

/**
 * Reads MODULE_INFO (90), the assets (91) and the protection state (76) in normal mode, or the
 * protection state from string 0xFA (or the layout) in DFU mode. A device that cannot answer one
 * of these is not failed here: a plan without module info says what every device must already
 * run, a device of an old Device OS has no assets, and one of an older still no protection.
 */
export const readDeviceState = async (
  transport: UsbTransport,
  device: UsbDeviceInfo,
  dfu: boolean,
  signal: AbortSignal,
): Promise<DeviceState> => {
  const notes: string[] = [];
  const handle = await transport.open(device, { signal });
  try {
    if (dfu) {
      const session = await DfuSession.open(handle, { signal });
      try {
        const p = await readDfuProtection(session, { signal, timeoutMs: 2000 });
        if (!p.ok) notes.push(`protection unknown in DFU mode: ${p.error.code}`);
        return { protection: p.ok ? (p.value.mode ?? 'open') : undefined, notes };
      } finally {
        // Releases the DFU interface before closing: a real device (usb@3 on Linux) keeps an
        // interface claimed through a bare close, and the install's own open is then USB_BUSY.
        await session.close();
      }
    }
    const request = { signal, timeoutMs: 3000 };
    const m = await getModuleInfo(handle, request);
    if (!m.ok) notes.push(`module info unavailable: ${m.error.code}`);
    const modules = m.ok
      ? m.value.map((x) => ({ function: x.function, index: x.index, version: x.version, hash: x.hash }))
      : undefined;
    const system = (modules ?? []).filter((x) => x.function === 'system').map((x) => x.version);
    // Device OS before 5.5 has no assets and refuses the request: nothing to skip then.
    const a = await getAssetInfo(handle, request);
    if (!a.ok) notes.push(`asset info unavailable: ${a.error.code}`);
    const assets = a.ok ? a.value.available.map((x) => ({ name: x.name, hash: x.hash })) : undefined;
    const p = await getProtectedState(handle, request);
    if (!p.ok) notes.push(`protection state unavailable: ${p.error.code}`);
    return {
      modules,
      assets,
      systemVersion: system.length > 0 ? Math.max(...system) : undefined,
      protection: p.ok ? (p.value.mode ?? 'open') : undefined,
      notes,
    };
  } catch (e) {
    notes.push(`device state unreadable: ${toLsError(e).code}`);
    return { notes };
  } finally {
    await handle.close().catch(() => undefined);
  }
};
