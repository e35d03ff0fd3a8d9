import type { LsError } from '../errors/result';
import type { DeviceIdentity } from './identity';

/*
 * A slot is a physical USB port (its port path) with the label an operator sees on the fixture
 * ("A1", "left-3"). The profile supplies the labels as a plain map; a port without a label is still
 * usable and shows its path. Slots identify devices by port path AND device ID together: two
 * attached devices with the same ID (a known failure on other vendors' lines) are both flagged.
 */

export type SlotLabels = Readonly<Record<string, string>>;

export const slotLabel = (labels: SlotLabels, portPath: string): string | undefined =>
  Object.hasOwn(labels, portPath) ? labels[portPath] : undefined;

export interface SlottedDevice extends DeviceIdentity {
  /** The slot label for this port path, or null when the profile does not name the port. */
  readonly slot: string | null;
  /** Errors that make the device unusable as it stands (DUPLICATE_DEVICE_ID). */
  readonly errors: readonly LsError<'DUPLICATE_DEVICE_ID'>[];
}

/** Device IDs reported on more than one port path, with those paths. */
export const findDuplicateIds = (devices: readonly DeviceIdentity[]): Map<string, string[]> => {
  const paths = new Map<string, string[]>();
  for (const d of devices) {
    if (!d.deviceId) continue;
    const list = paths.get(d.deviceId) ?? [];
    if (!list.includes(d.portPath)) list.push(d.portPath);
    paths.set(d.deviceId, list);
  }
  for (const [id, list] of paths) if (list.length < 2) paths.delete(id);
  return paths;
};

export const duplicateIdError = (
  deviceId: string,
  portPaths: readonly string[],
): LsError<'DUPLICATE_DEVICE_ID'> => ({
  code: 'DUPLICATE_DEVICE_ID',
  message: `Device ID ${deviceId} is reported by devices on ${portPaths.length} ports (${portPaths.join(', ')}).`,
  remedy: 'Unplug all but one of them; set aside any device that reports another device’s ID.',
  details: { deviceId, portPaths: [...portPaths] },
});

/** Labels each device with its slot and flags every device whose ID appears on another path. */
export const assignSlots = (devices: readonly DeviceIdentity[], labels: SlotLabels = {}): SlottedDevice[] => {
  const duplicates = findDuplicateIds(devices);
  return devices.map((d) => {
    const paths = d.deviceId ? duplicates.get(d.deviceId) : undefined;
    return {
      ...d,
      slot: slotLabel(labels, d.portPath) ?? null,
      errors: paths && d.deviceId ? [duplicateIdError(d.deviceId, paths)] : [],
    };
  });
};

/** Orders port paths the way a person reads them: bus, then each port number numerically. */
export const comparePortPaths = (a: string, b: string): number => {
  const parts = (p: string): number[] => p.split(/[-.]/).map((n) => Number.parseInt(n, 10) || 0);
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
};
