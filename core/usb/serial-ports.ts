import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LsError } from '../errors/result';

/*
 * Finding the serial (CDC-ACM) port of a USB device. serialport's `SerialPort.list()` asks udev
 * (`udevadm info -e`) on Linux, and fails with "spawn udevadm ENOENT" in containers and minimal
 * images without udev; there we read the same facts from sysfs ourselves, and where neither works
 * the device simply has no known serial port (a warning, never a failure of discovery).
 */

export interface SerialPortEntry {
  readonly path: string;
  readonly vendorId?: number | undefined;
  readonly productId?: number | undefined;
  readonly serialNumber?: string | undefined;
}

/** Lists serial ports; never rejects. Injected so tests and the simulator supply their own. */
export type SerialPortLister = () => Promise<SerialPortEntry[]>;

export interface SerialPortListing {
  readonly ports: SerialPortEntry[];
  readonly source: 'serialport' | 'sysfs' | 'none';
  readonly warning?: LsError;
}

const hex = (v: string | undefined): number | undefined => {
  if (!v) return undefined;
  const n = Number.parseInt(v.replace(/^0x/i, ''), 16);
  return Number.isFinite(n) ? n : undefined;
};

interface RawPortInfo {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
}

const fromRaw = (p: RawPortInfo): SerialPortEntry => ({
  path: p.path,
  vendorId: hex(p.vendorId),
  productId: hex(p.productId),
  serialNumber: p.serialNumber,
});

const readTrim = async (path: string): Promise<string | undefined> => {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
};

/**
 * Reads USB serial ports from sysfs: /sys/class/tty/<name>/device is the USB interface
 * (e.g. …/1-1.2:1.0); its parent directory is the USB device with idVendor, idProduct, serial.
 */
export const listSerialPortsFromSysfs = async (
  sysRoot = '/sys',
  devRoot = '/dev',
): Promise<SerialPortEntry[]> => {
  const ttyDir = join(sysRoot, 'class', 'tty');
  const names = await readdir(ttyDir);
  const out: SerialPortEntry[] = [];
  for (const name of names.sort()) {
    if (!/^tty(ACM|USB)\d+$/.test(name)) continue;
    let iface: string;
    try {
      iface = await realpath(join(ttyDir, name, 'device'));
    } catch {
      continue;
    }
    // ttyUSB (usb-serial drivers) sits one level deeper than ttyACM: climb until idVendor appears.
    let dev = dirname(iface);
    for (let i = 0; i < 3 && (await readTrim(join(dev, 'idVendor'))) === undefined; i++) dev = dirname(dev);
    const vendorId = await readTrim(join(dev, 'idVendor'));
    if (vendorId === undefined) continue;
    out.push(
      fromRaw({
        path: join(devRoot, basename(name)),
        vendorId,
        productId: await readTrim(join(dev, 'idProduct')),
        serialNumber: await readTrim(join(dev, 'serial')),
      }),
    );
  }
  return out;
};

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** serialport first, then sysfs, then nothing; says which worked and why the others did not. */
export const listSerialPortsDetailed = async (
  options: { list?: () => Promise<RawPortInfo[]>; sysRoot?: string; devRoot?: string } = {},
): Promise<SerialPortListing> => {
  const list =
    options.list ??
    (async (): Promise<RawPortInfo[]> => {
      const { SerialPort } = await import('serialport');
      return SerialPort.list();
    });
  let primary: string;
  try {
    return { ports: (await list()).map(fromRaw), source: 'serialport' };
  } catch (e) {
    primary = errorText(e);
  }
  try {
    const ports = await listSerialPortsFromSysfs(options.sysRoot, options.devRoot);
    return {
      ports,
      source: 'sysfs',
      warning: {
        code: 'SERIAL_LIST_DEGRADED',
        message: `Listing serial ports through udev failed (${primary}); read them from sysfs instead.`,
      },
    };
  } catch (e) {
    return {
      ports: [],
      source: 'none',
      warning: {
        code: 'SERIAL_LIST_UNAVAILABLE',
        message: `Serial ports could not be listed (${primary}; sysfs: ${errorText(e)}).`,
        remedy:
          'Serial port paths will be missing; install udev (udevadm) or mount /sys to see them. USB discovery still works.',
      },
    };
  }
};

export const listSerialPorts: SerialPortLister = async () => (await listSerialPortsDetailed()).ports;

/**
 * The serial port of a USB device, matched by VID, PID and serial number (the device ID on
 * Particle devices; compared case-insensitively because udev and the device may differ in case).
 */
export const findSerialPath = (
  ports: readonly SerialPortEntry[],
  device: { vendorId: number; productId: number; serialNumber: string | undefined },
): string | undefined => {
  const serial = device.serialNumber?.toLowerCase();
  if (!serial) return undefined;
  return ports.find(
    (p) =>
      p.vendorId === device.vendorId &&
      p.productId === device.productId &&
      p.serialNumber?.toLowerCase() === serial,
  )?.path;
};
