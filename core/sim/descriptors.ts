import type { Platform } from '../platforms';
import { DFU_ATTR, DFUSE_BCD } from './dfu-constants';

/**
 * The bytes a simulated device returns for GET_DESCRIPTOR (USB 2.0 §9.6, DFU 1.1 §4.2, CDC 1.2
 * §5.2.3). Hosts read descriptors only through ep0, so these must be laid out exactly as firmware
 * lays them out; the FunctionFS server hands the very same bytes to the kernel.
 */

export interface SimDescriptors {
  readonly vendorId: number;
  readonly productId: number;
  readonly device: Uint8Array;
  /** The full configuration descriptor set (wTotalLength bytes). */
  readonly configuration: Uint8Array;
  /** String descriptors by index (index 0, the LANGID list, is built separately). */
  readonly strings: ReadonlyMap<number, string>;
  readonly manufacturer: string;
  readonly product: string;
  readonly serialNumber: string;
  /** Interface numbers present in the configuration, with their alternate settings. */
  readonly interfaces: ReadonlyMap<number, readonly number[]>;
}

export const LANGID_EN_US = 0x0409;

export const STRING_MANUFACTURER = 1;
export const STRING_PRODUCT = 2;
export const STRING_SERIAL = 3;
export const STRING_CONTROL_INTERFACE = 4;
/** Device OS numbers the alt-setting strings after its fixed strings (STRING_IDX_INTERFACE + 1 + alt). */
export const STRING_FIRST_ALT = 6;

const u16 = (v: number): [number, number] => [v & 0xff, (v >> 8) & 0xff];

const deviceDescriptor = (
  vendorId: number,
  productId: number,
  cls: [number, number, number],
  bcdDevice: number,
): Uint8Array =>
  Uint8Array.from([
    18,
    0x01,
    ...u16(0x0200), // bcdUSB 2.0 (full-speed device)
    ...cls,
    64, // bMaxPacketSize0
    ...u16(vendorId),
    ...u16(productId),
    ...u16(bcdDevice),
    STRING_MANUFACTURER,
    STRING_PRODUCT,
    STRING_SERIAL,
    1, // bNumConfigurations
  ]);

const configuration = (
  numInterfaces: number,
  body: number[],
  power: { attributes: number; maxPower: number },
): Uint8Array => {
  const total = 9 + body.length;
  return Uint8Array.from([
    9,
    0x02,
    ...u16(total),
    numInterfaces,
    1, // bConfigurationValue
    0, // iConfiguration
    power.attributes,
    power.maxPower, // in 2 mA units
    ...body,
  ]);
};

/** DFU functional descriptor attributes per generation (see docs/simulator.md for the sources). */
export const dfuAttributes = (platform: Platform): number =>
  platform.generation <= 2
    ? // ST's DfuSe library: download, upload, manifestation tolerant (stays in dfuDNLOAD-IDLE).
      DFU_ATTR.CAN_DNLOAD | DFU_ATTR.CAN_UPLOAD | DFU_ATTR.MANIFESTATION_TOLERANT
    : // Device OS usbd_dfu: download, upload, will detach; goes to dfuMANIFEST-WAIT-RESET.
      DFU_ATTR.CAN_DNLOAD | DFU_ATTR.CAN_UPLOAD | DFU_ATTR.WILL_DETACH;

export const DFU_DETACH_TIMEOUT_MS = 255;

/** Device OS 6.1.2+ (bootloader usbd_device.cpp): string 0xFA holds the protection state. */
export const STRING_DEVICE_STATE = 0xfa;

/** How the bootloader presents Device Protection (Device OS ≥ 6.0). */
export interface DfuSecurityView {
  /** Protected: every segment is reported erasable only (the `_PROT` layout strings, all 'b'). */
  readonly protectedLayout: boolean;
  /** `sm=o` open, `sm=p` protected, `sm=s` Service Mode; undefined before 6.1.2 (no string 0xFA). */
  readonly deviceState?: 'o' | 'p' | 's';
}

/** usbd_dfu_mal.h INTERNAL_FLASH_IF_STRING_PROT etc.: the same sectors, attribute letter 'b'. */
const protectedLayout = (layout: string): string => layout.replace(/(\d+\s*[ BKM])[a-g]/g, '$1b');

export const dfuDescriptors = (
  platform: Platform,
  deviceId: string,
  security: DfuSecurityView = { protectedLayout: false },
): SimDescriptors => {
  const alts = platform.dfu.altSettings.map((a) =>
    security.protectedLayout ? { ...a, layout: protectedLayout(a.layout) } : a,
  );
  const body: number[] = [];
  for (const a of alts) {
    // Interface 0, one alternate setting per memory, no endpoints; class 0xFE/1/2 = DFU mode.
    body.push(9, 0x04, 0, a.alt, 0, 0xfe, 0x01, 0x02, STRING_FIRST_ALT + a.alt);
  }
  // One functional descriptor after the last alternate setting, as Device OS lays it out.
  body.push(
    9,
    0x21,
    dfuAttributes(platform),
    ...u16(DFU_DETACH_TIMEOUT_MS),
    ...u16(platform.dfu.transferSize),
    ...u16(DFUSE_BCD),
  );
  const strings = new Map<number, string>();
  const product = `${platform.displayName} DFU Mode`;
  strings.set(STRING_MANUFACTURER, 'Particle');
  strings.set(STRING_PRODUCT, product);
  strings.set(STRING_SERIAL, deviceId);
  for (const a of alts) strings.set(STRING_FIRST_ALT + a.alt, a.layout);
  if (security.deviceState) strings.set(STRING_DEVICE_STATE, `sm=${security.deviceState}`);
  return {
    vendorId: platform.usb.dfuVendorId,
    productId: platform.usb.dfuProductId,
    device: deviceDescriptor(platform.usb.dfuVendorId, platform.usb.dfuProductId, [0, 0, 0], 0x0200),
    // Device OS usbd_dfu.h: bmAttributes 0xC0, bMaxPower 0x32 (100 mA).
    configuration: configuration(1, body, { attributes: 0xc0, maxPower: 0x32 }),
    strings,
    manufacturer: 'Particle',
    product,
    serialNumber: deviceId,
    interfaces: new Map([[0, alts.map((a) => a.alt)]]),
  };
};

/** CDC ACM interface numbers and the vendor control interface in normal/listening mode. */
export const CDC_COMM_INTERFACE = 0;
export const CDC_DATA_INTERFACE = 1;
export const CONTROL_INTERFACE = 2;

export const normalDescriptors = (platform: Platform, deviceId: string): SimDescriptors => {
  // biome-ignore format: one descriptor per line reads like the spec tables
  const body = [
    // Interface association: the two CDC interfaces form one serial function.
    8, 0x0b, CDC_COMM_INTERFACE, 2, 0x02, 0x02, 0x01, 0,
    // CDC communication interface: 1 interrupt endpoint, class 2 / ACM / AT commands.
    9, 0x04, CDC_COMM_INTERFACE, 0, 1, 0x02, 0x02, 0x01, 0,
    5, 0x24, 0x00, ...u16(0x0110), // header functional descriptor, CDC 1.10
    5, 0x24, 0x01, 0x00, CDC_DATA_INTERFACE, // call management
    4, 0x24, 0x02, 0x02, // ACM: supports SET_LINE_CODING / SET_CONTROL_LINE_STATE
    5, 0x24, 0x06, CDC_COMM_INTERFACE, CDC_DATA_INTERFACE, // union
    7, 0x05, 0x82, 0x03, ...u16(8), 0xff,
    // CDC data interface: bulk OUT and IN.
    9, 0x04, CDC_DATA_INTERFACE, 0, 2, 0x0a, 0x00, 0x00, 0,
    7, 0x05, 0x01, 0x02, ...u16(64), 0,
    7, 0x05, 0x81, 0x02, ...u16(64), 0,
    // Vendor-specific control interface (WinUSB binds to it; requests go to the device recipient).
    9, 0x04, CONTROL_INTERFACE, 0, 0, 0xff, 0xff, 0xff, STRING_CONTROL_INTERFACE,
  ];
  const strings = new Map<number, string>();
  strings.set(STRING_MANUFACTURER, 'Particle');
  strings.set(STRING_PRODUCT, platform.displayName);
  strings.set(STRING_SERIAL, deviceId);
  strings.set(STRING_CONTROL_INTERFACE, 'Particle Control');
  return {
    vendorId: platform.usb.vendorId,
    productId: platform.usb.normalProductId,
    device: deviceDescriptor(platform.usb.vendorId, platform.usb.normalProductId, [0xef, 0x02, 0x01], 0x0250),
    configuration: configuration(3, body, { attributes: 0x80, maxPower: 250 }),
    strings,
    manufacturer: 'Particle',
    product: platform.displayName,
    serialNumber: deviceId,
    interfaces: new Map([
      [CDC_COMM_INTERFACE, [0]],
      [CDC_DATA_INTERFACE, [0]],
      [CONTROL_INTERFACE, [0]],
    ]),
  };
};

/** String descriptor bytes: index 0 is the LANGID list; others are UTF-16LE. */
export const stringDescriptor = (text: string): Uint8Array => {
  const out = new Uint8Array(2 + text.length * 2);
  out[0] = out.length;
  out[1] = 0x03;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[2 + i * 2] = c & 0xff;
    out[3 + i * 2] = c >> 8;
  }
  return out;
};

export const langIdDescriptor = (): Uint8Array => Uint8Array.from([4, 0x03, ...u16(LANGID_EN_US)]);
