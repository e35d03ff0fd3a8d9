import { describe, expect, it } from 'vitest';
import { PLATFORMS } from '../../core/platforms';
import { DFU_ATTR } from '../../core/sim';
import { byte, fastDevice, getDescriptor, readString } from './helpers';

/** Splits a configuration descriptor set into its descriptors (bLength/bDescriptorType walk). */
const walk = (config: Uint8Array): Uint8Array[] => {
  const out: Uint8Array[] = [];
  for (let o = 0; o < config.length; ) {
    const len = config[o] as number;
    expect(len).toBeGreaterThan(1);
    out.push(config.subarray(o, o + len));
    o += len;
  }
  return out;
};
const u16 = (b: Uint8Array, o: number) => byte(b, o) | (byte(b, o + 1) << 8);

const current = PLATFORMS.filter((p) => p.id !== 0);
const platform = (name: string) => {
  const p = current.find((x) => x.name === name);
  if (!p) throw new Error(name);
  return p;
};

describe('DFU-mode descriptors', () => {
  it.each(current.map((p) => [p.name]))('%s: device descriptor carries the DFU VID/PID', async (name) => {
    const p = platform(name);
    const d = fastDevice(name, { mode: 'dfu' });
    const dev = await getDescriptor(d, 1, 0);
    expect(dev.length).toBe(18);
    expect(dev[0]).toBe(18);
    expect(dev[1]).toBe(1);
    expect(u16(dev, 2)).toBe(0x0200);
    expect(dev[7]).toBe(64);
    expect(u16(dev, 8)).toBe(0x2b04);
    expect(u16(dev, 10)).toBe(p.usb.dfuProductId);
    expect(u16(dev, 10) >> 8).toBe(0xd0);
    expect(await readString(d, dev[16] as number)).toBe(d.deviceId);
    expect(d.deviceId).toMatch(/^[0-9a-f]{24}$/);
    expect(await readString(d, dev[14] as number)).toBe('Particle');
  });

  it.each(current.map((p) => [p.name]))(
    '%s: one DFU alt per layout string, functional descriptor last',
    async (name) => {
      const p = platform(name);
      const d = fastDevice(name, { mode: 'dfu' });
      const head = await getDescriptor(d, 2, 0, 9);
      const total = u16(head, 2);
      const config = await getDescriptor(d, 2, 0, total);
      expect(config.length).toBe(total);
      const descs = walk(config);
      expect(descs[0]?.[1]).toBe(2);
      expect(descs[0]?.[4]).toBe(1); // bNumInterfaces
      const ifaces = descs.filter((x) => x[1] === 4);
      expect(ifaces).toHaveLength(p.dfu.altSettings.length);
      for (const [i, iface] of ifaces.entries()) {
        expect([...iface.subarray(2, 8)]).toEqual([0, i, 0, 0xfe, 0x01, 0x02]);
        expect(await readString(d, iface[8] as number)).toBe(p.dfu.altSettings[i]?.layout);
      }
      const fn = descs.at(-1) ?? new Uint8Array(0);
      expect(fn[1]).toBe(0x21);
      expect(fn[0]).toBe(9);
      expect(byte(fn, 2) & (DFU_ATTR.CAN_DNLOAD | DFU_ATTR.CAN_UPLOAD)).toBe(3);
      expect(Boolean(byte(fn, 2) & DFU_ATTR.MANIFESTATION_TOLERANT)).toBe(p.generation <= 2);
      expect(u16(fn, 5)).toBe(4096);
      expect(u16(fn, 7)).toBe(0x011a);
    },
  );

  it('answers string 0 with the LANGID list (en-US)', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    expect([...(await getDescriptor(d, 3, 0))]).toEqual([4, 3, 0x09, 0x04]);
  });

  it('truncates to wLength, as a two-step read (length first) expects', async () => {
    const d = fastDevice('p2', { mode: 'dfu' });
    const first = await getDescriptor(d, 3, 3, 1);
    expect(first.length).toBe(1);
    expect(first[0]).toBe(2 + 24 * 2);
  });

  it('STALLs unknown strings, other configurations and DEVICE_QUALIFIER', async () => {
    const d = fastDevice('argon', { mode: 'dfu' });
    const stall = { status: 'stall' };
    expect(
      await d.handleControl({
        bmRequestType: 0x80,
        bRequest: 6,
        wValue: 0x0363,
        wIndex: 0x409,
        wLength: 255,
      }),
    ).toEqual(stall);
    expect(
      await d.handleControl({ bmRequestType: 0x80, bRequest: 6, wValue: 0x0201, wIndex: 0, wLength: 255 }),
    ).toEqual(stall);
    expect(
      await d.handleControl({ bmRequestType: 0x80, bRequest: 6, wValue: 0x0600, wIndex: 0, wLength: 10 }),
    ).toEqual(stall);
  });

  it('serves the DFU functional descriptor to an interface GET_DESCRIPTOR', async () => {
    const d = fastDevice('boron', { mode: 'dfu' });
    const r = await d.handleControl({
      bmRequestType: 0x81,
      bRequest: 6,
      wValue: 0x2100,
      wIndex: 0,
      wLength: 9,
    });
    expect(r.status === 'ok' && r.data?.[1]).toBe(0x21);
  });
});

describe('normal-mode descriptors', () => {
  it('uses the normal PID and exposes a CDC ACM pair plus the vendor control interface', async () => {
    const d = fastDevice('boron');
    const dev = await getDescriptor(d, 1, 0);
    expect(u16(dev, 10)).toBe(0xc00d);
    expect([dev[4], dev[5], dev[6]]).toEqual([0xef, 0x02, 0x01]);
    const total = u16(await getDescriptor(d, 2, 0, 9), 2);
    const descs = walk(await getDescriptor(d, 2, 0, total));
    const ifaces = descs.filter((x) => x[1] === 4).map((x) => [x[2], x[5], x[6]]);
    expect(ifaces).toEqual([
      [0, 0x02, 0x02],
      [1, 0x0a, 0x00],
      [2, 0xff, 0xff],
    ]);
    expect(descs.filter((x) => x[1] === 5)).toHaveLength(3);
    expect(descs.some((x) => x[1] === 0x0b)).toBe(true); // interface association
    expect(await readString(d, dev[16] as number)).toBe(d.deviceId);
  });

  it('keeps the same device ID across modes', async () => {
    const a = fastDevice('p2', { seed: 'x' });
    const b = fastDevice('p2', { seed: 'x', mode: 'dfu' });
    expect(a.descriptors.serialNumber).toBe(b.descriptors.serialNumber);
  });
});
