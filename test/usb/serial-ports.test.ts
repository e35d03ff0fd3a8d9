import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findSerialPath,
  listSerialPortsDetailed,
  listSerialPortsFromSysfs,
} from '../../core/usb/serial-ports';

// A fake sysfs: /sys/class/tty/ttyACM0/device -> the USB interface dir, whose parent holds the
// USB device attributes, as on Linux.
const root = mkdtempSync(join(tmpdir(), 'ls-sysfs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const usbDev = join(root, 'devices', 'pci0000:00', 'usb1', '1-1', '1-1.2');
mkdirSync(join(usbDev, '1-1.2:1.0'), { recursive: true });
writeFileSync(join(usbDev, 'idVendor'), '2b04\n');
writeFileSync(join(usbDev, 'idProduct'), 'c00d\n');
writeFileSync(join(usbDev, 'serial'), 'E00FCE68AAAAAAAAAAAAAAAA\n');
mkdirSync(join(root, 'class', 'tty', 'ttyACM0'), { recursive: true });
symlinkSync(join(usbDev, '1-1.2:1.0'), join(root, 'class', 'tty', 'ttyACM0', 'device'));
mkdirSync(join(root, 'class', 'tty', 'ttyS0'), { recursive: true });
mkdirSync(join(root, 'class', 'tty', 'tty1'), { recursive: true });

describe('serial port listing', () => {
  it('reads USB serial ports from sysfs', async () => {
    expect(await listSerialPortsFromSysfs(root, '/dev')).toEqual([
      { path: '/dev/ttyACM0', vendorId: 0x2b04, productId: 0xc00d, serialNumber: 'E00FCE68AAAAAAAAAAAAAAAA' },
    ]);
  });

  it('falls back to sysfs when udevadm is missing, with a warning', async () => {
    const r = await listSerialPortsDetailed({
      list: async () => {
        throw new Error('spawn udevadm ENOENT');
      },
      sysRoot: root,
    });
    expect(r.source).toBe('sysfs');
    expect(r.ports.map((p) => p.path)).toEqual(['/dev/ttyACM0']);
    expect(r.warning?.message).toContain('udevadm ENOENT');
  });

  it('degrades to no ports (never a rejection) when neither works', async () => {
    const r = await listSerialPortsDetailed({
      list: async () => {
        throw new Error('spawn udevadm ENOENT');
      },
      sysRoot: join(root, 'missing'),
    });
    expect(r).toMatchObject({ ports: [], source: 'none', warning: { code: 'SERIAL_LIST_UNAVAILABLE' } });
    expect(r.warning?.remedy).toBeTruthy();
  });

  it('uses serialport when it works, parsing its hex IDs', async () => {
    const r = await listSerialPortsDetailed({
      list: async () => [{ path: '/dev/ttyACM5', vendorId: '2B04', productId: 'c00c', serialNumber: 'x' }],
    });
    expect(r).toEqual({
      source: 'serialport',
      ports: [{ path: '/dev/ttyACM5', vendorId: 0x2b04, productId: 0xc00c, serialNumber: 'x' }],
    });
  });

  it('on this machine, resolves whatever udev and sysfs allow', async () => {
    const r = await listSerialPortsDetailed();
    expect(['serialport', 'sysfs', 'none']).toContain(r.source);
  });
});

describe('findSerialPath', () => {
  const ports = [
    { path: '/dev/ttyACM0', vendorId: 0x2b04, productId: 0xc00d, serialNumber: 'E00FCE68AAAAAAAAAAAAAAAA' },
    { path: '/dev/ttyACM1', vendorId: 0x2b04, productId: 0xc00c, serialNumber: 'e00fce68bbbbbbbbbbbbbbbb' },
  ];
  it('matches VID, PID and serial number case-insensitively', () => {
    expect(
      findSerialPath(ports, {
        vendorId: 0x2b04,
        productId: 0xc00d,
        serialNumber: 'e00fce68aaaaaaaaaaaaaaaa',
      }),
    ).toBe('/dev/ttyACM0');
  });
  it('finds nothing for another PID or no serial', () => {
    expect(
      findSerialPath(ports, {
        vendorId: 0x2b04,
        productId: 0xc00c,
        serialNumber: 'e00fce68aaaaaaaaaaaaaaaa',
      }),
    ).toBeUndefined();
    expect(
      findSerialPath(ports, { vendorId: 0x2b04, productId: 0xc00d, serialNumber: undefined }),
    ).toBeUndefined();
  });
});
