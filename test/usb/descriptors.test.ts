import { describe, expect, it } from 'vitest';
import { LsFailure } from '../../core/errors/result';
import {
  normalizeSerial,
  parseConfigurationDescriptor,
  parseDeviceDescriptor,
  parseDfuFunctional,
  parseLangIds,
  parseStringDescriptor,
  readConfigurationDescriptor,
  readStringDescriptor,
  usbIdText,
} from '../../core/usb/descriptors';
import type { ControlSetup, UsbDeviceHandle } from '../../core/usb/transport';

const stringDescriptor = (s: string): Uint8Array => {
  const b = new Uint8Array(2 + s.length * 2);
  b[0] = b.length;
  b[1] = 3;
  for (let i = 0; i < s.length; i++) {
    b[2 + i * 2] = s.charCodeAt(i) & 0xff;
    b[3 + i * 2] = s.charCodeAt(i) >> 8;
  }
  return b;
};

/** A Boron in DFU mode: one interface, three alt settings, functional descriptor after the last. */
const boronConfig = (): Uint8Array => {
  const iface = (alt: number, iInterface: number) => [9, 4, 0, alt, 0, 0xfe, 0x01, 0x02, iInterface];
  const functional = [9, 0x21, 0x0b, 0xff, 0x00, 0x00, 0x10, 0x1a, 0x01];
  const body = [...iface(0, 4), ...iface(1, 5), ...iface(2, 6), ...functional];
  const total = 9 + body.length;
  return Uint8Array.from([9, 2, total & 0xff, total >> 8, 1, 1, 0, 0x80, 50, ...body]);
};

describe('descriptor parsing', () => {
  it('parses a device descriptor', () => {
    const d = parseDeviceDescriptor(
      Uint8Array.from([18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x04, 0x2b, 0x0d, 0xd0, 0x00, 0x02, 1, 2, 3, 1]),
    );
    expect(d).toMatchObject({
      vendorId: 0x2b04,
      productId: 0xd00d,
      bcdUSB: 0x0200,
      iSerialNumber: 3,
      maxPacketSize0: 64,
    });
  });

  it('parses interfaces, alt settings and the DFU functional descriptor', () => {
    const c = parseConfigurationDescriptor(boronConfig());
    expect(c.interfaces.map((i) => [i.interfaceNumber, i.alternateSetting, i.iInterface])).toEqual([
      [0, 0, 4],
      [0, 1, 5],
      [0, 2, 6],
    ]);
    const f = c.interfaces[2]?.dfuFunctional;
    expect(f).toEqual({
      rawAttributes: 0x0b,
      attributes: { canDownload: true, canUpload: true, manifestationTolerant: false, willDetach: true },
      detachTimeoutMs: 255,
      transferSize: 4096,
      bcdDFU: 0x011a,
    });
    expect(c.maxPowerMa).toBe(100);
  });

  it('reads DFU 1.0 functional descriptors without bcdDFUVersion', () => {
    expect(parseDfuFunctional(Uint8Array.from([7, 0x21, 0x03, 0x10, 0x00, 0x00, 0x04])).bcdDFU).toBe(0x0100);
  });

  it('refuses a descriptor whose lengths run past the end instead of looping', () => {
    const b = boronConfig();
    b[9] = 0; // a zero bLength would never advance
    expect(() => parseConfigurationDescriptor(b)).toThrow(LsFailure);
    const short = boronConfig().subarray(0, 20);
    expect(() => parseConfigurationDescriptor(short)).toThrow(/malformed configuration/);
  });

  it('decodes UTF-16LE strings and the language list', () => {
    expect(parseStringDescriptor(stringDescriptor('@Internal Flash   /0x00000000/1*004Ka'))).toBe(
      '@Internal Flash   /0x00000000/1*004Ka',
    );
    expect(parseLangIds(Uint8Array.from([4, 3, 0x09, 0x04]))).toEqual([0x0409]);
  });

  it('normalises device IDs: lower case, printable only', () => {
    expect(normalizeSerial('E00FCE68AB\u0000\u0001')).toBe('e00fce68ab');
    expect(normalizeSerial('\u0000')).toBeUndefined();
  });
});

describe('reading descriptors through control requests', () => {
  it('asks for the 9-byte header, then wTotalLength, with GET_DESCRIPTOR', async () => {
    const config = boronConfig();
    const seen: [ControlSetup, number][] = [];
    const handle = {
      controlIn: async (s: ControlSetup, length: number) => {
        seen.push([s, length]);
        if (s.value >> 8 === 2) return config.subarray(0, length);
        return stringDescriptor('@DCD Flash   /0x00000000/1*016Kg');
      },
    } as unknown as UsbDeviceHandle;
    const c = await readConfigurationDescriptor(handle, { timeoutMs: 100 });
    expect(c.interfaces).toHaveLength(3);
    expect(seen.map(([s, l]) => [s.requestType, s.recipient, s.request, s.value, l])).toEqual([
      ['standard', 'device', 6, 0x0200, 9],
      ['standard', 'device', 6, 0x0200, config.length],
    ]);
    expect(await readStringDescriptor(handle, 5, { timeoutMs: 100 })).toBe(
      '@DCD Flash   /0x00000000/1*016Kg',
    );
    expect(seen.at(-1)?.[0]).toMatchObject({ value: 0x0305, index: 0x0409 });
    expect(await readStringDescriptor(handle, 0, { timeoutMs: 100 })).toBeUndefined();
  });
});

describe('usbIdText', () => {
  it('writes vendor and product as 4 lowercase hex digits each, as lsusb does', () => {
    expect(usbIdText({ vendorId: 0x2b04, productId: 0xd00d })).toBe('2b04:d00d');
    expect(usbIdText({ vendorId: 0x1d50, productId: 0x607f })).toBe('1d50:607f');
    expect(usbIdText({ vendorId: 0x1, productId: 0xa })).toBe('0001:000a');
  });
});
