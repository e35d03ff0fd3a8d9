import type { SimDescriptors } from '../descriptors';
import type { FfsFunctionDescriptors } from './blobs';
import { FfsFlag } from './blobs';
import type { GadgetIdentity } from './configfs';

/*
 * Splits one simulated device's descriptors between the three places a Linux gadget takes them
 * from: the device descriptor and its strings go to configfs; a CDC-ACM serial function (interface
 * association + communication + data interfaces) becomes the kernel's own `acm` function, so the
 * host gets a real /dev/ttyACM*; everything else (the DFU interface with its alternate settings and
 * functional descriptor, or the vendor control interface) is written to FunctionFS and served by us.
 */

export interface GadgetSpec {
  readonly identity: GadgetIdentity;
  readonly ffs: FfsFunctionDescriptors;
  /** FunctionFS strings: string N (1-based) in `ffs.descriptors` is `ffsStrings[N - 1]`. */
  readonly ffsStrings: readonly string[];
  /** Whether the device has a CDC-ACM serial port (normal and listening mode). */
  readonly serial: boolean;
  /**
   * Strings the host asks for by a number no descriptor names (Device OS 6.1.2+'s bootloader:
   * 0xFA, the security mode): the kernel answers every string request itself, from configfs and
   * FunctionFS tables with numbers it hands out, so these must be placed at their numbers in
   * configfs (see ConfigfsGadget.setFixedStrings).
   */
  readonly fixedStrings: ReadonlyMap<number, string>;
}

/** The string numbers the kernel's acm function takes (control, data, association: f_acm.c). */
export const ACM_STRING_COUNT = 3;

const DT_INTERFACE = 0x04;
const DT_INTERFACE_ASSOCIATION = 0x0b;
const CLASS_CDC = 0x02;
const CLASS_CDC_DATA = 0x0a;

const u16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);

/**
 * The strings of `d` that neither the device descriptor (manufacturer, product, serial) nor any
 * interface or interface association descriptor refers to: a host can only know them by number.
 */
export const fixedStrings = (d: SimDescriptors): Map<number, string> => {
  const named = new Set([d.device[14] ?? 0, d.device[15] ?? 0, d.device[16] ?? 0]);
  for (const desc of splitDescriptors(d.configuration)) {
    if (desc[1] === DT_INTERFACE) named.add(desc[8] ?? 0);
    else if (desc[1] === DT_INTERFACE_ASSOCIATION) named.add(desc[7] ?? 0);
  }
  return new Map([...d.strings].filter(([index]) => index !== 0 && !named.has(index)));
};

/** Splits a configuration descriptor set (after its 9-byte header) into single descriptors. */
export const splitDescriptors = (configuration: Uint8Array): Uint8Array[] => {
  const total = Math.min(u16(configuration, 2), configuration.length);
  const out: Uint8Array[] = [];
  let offset = configuration[0] ?? 9;
  while (offset < total) {
    const len = configuration[offset] ?? 0;
    if (len < 2 || offset + len > total)
      throw new RangeError(`malformed configuration descriptor at ${offset}`);
    out.push(configuration.slice(offset, offset + len));
    offset += len;
  }
  return out;
};

export const gadgetSpec = (d: SimDescriptors): GadgetSpec => {
  const dev = d.device;
  const identity: GadgetIdentity = {
    bcdUSB: u16(dev, 2),
    deviceClass: dev[4] ?? 0,
    deviceSubClass: dev[5] ?? 0,
    deviceProtocol: dev[6] ?? 0,
    vendorId: u16(dev, 8),
    productId: u16(dev, 10),
    bcdDevice: u16(dev, 12),
    manufacturer: d.manufacturer,
    product: d.product,
    serialNumber: d.serialNumber,
  };
  const kept: Uint8Array[] = [];
  const strings: string[] = [];
  const stringIds = new Map<number, number>();
  const interfaceIds = new Map<number, number>();
  let serial = false;
  let inCdc = false;
  for (const desc of splitDescriptors(d.configuration)) {
    const type = desc[1];
    if (type === DT_INTERFACE_ASSOCIATION && desc[4] === CLASS_CDC) {
      serial = true; // the kernel's acm function brings its own association descriptor
      continue;
    }
    if (type === DT_INTERFACE) {
      inCdc = desc[5] === CLASS_CDC || desc[5] === CLASS_CDC_DATA;
      if (inCdc) {
        serial = true;
        continue;
      }
      const copy = desc.slice();
      // FunctionFS numbers interfaces per function from 0 and remaps them into the gadget.
      const number = desc[2] ?? 0;
      if (!interfaceIds.has(number)) interfaceIds.set(number, interfaceIds.size);
      copy[2] = interfaceIds.get(number) ?? 0;
      const iInterface = desc[8] ?? 0;
      if (iInterface !== 0) {
        if (!stringIds.has(iInterface)) {
          strings.push(d.strings.get(iInterface) ?? '');
          stringIds.set(iInterface, strings.length);
        }
        copy[8] = stringIds.get(iInterface) ?? 0;
      }
      kept.push(copy);
      continue;
    }
    // Class-specific and endpoint descriptors follow their interface.
    if (!inCdc) kept.push(desc);
  }
  const descriptors = new Uint8Array(kept.reduce((n, k) => n + k.length, 0));
  let offset = 0;
  for (const k of kept) {
    descriptors.set(k, offset);
    offset += k.length;
  }
  return {
    identity,
    // Particle's control requests go to the device recipient; DFU requests to the interface.
    ffs: { descriptors, count: kept.length, flags: FfsFlag.ALL_CTRL_RECIP },
    ffsStrings: strings,
    serial,
    fixedStrings: fixedStrings(d),
  };
};
