import { LsFailure } from '../errors/result';
import type { TransferOptions, UsbDeviceHandle } from './transport';

/*
 * Standard USB descriptors read with GET_DESCRIPTOR control requests (USB 2.0 §9.4.3, §9.6) and the
 * DFU functional descriptor (DFU 1.1 §4.1.3). The transport has no descriptor API on purpose: reading
 * through ep0 is what real hosts do, so a simulated device has to answer exactly as firmware does.
 */

export const DESCRIPTOR_DEVICE = 0x01;
export const DESCRIPTOR_CONFIGURATION = 0x02;
export const DESCRIPTOR_STRING = 0x03;
export const DESCRIPTOR_INTERFACE = 0x04;
export const DESCRIPTOR_ENDPOINT = 0x05;
export const DESCRIPTOR_DFU_FUNCTIONAL = 0x21;

const GET_DESCRIPTOR = 0x06;
/** English (US): the language every Particle device offers. */
export const LANGID_EN_US = 0x0409;

export interface DeviceDescriptor {
  readonly bcdUSB: number;
  readonly deviceClass: number;
  readonly deviceSubClass: number;
  readonly deviceProtocol: number;
  readonly maxPacketSize0: number;
  readonly vendorId: number;
  readonly productId: number;
  readonly bcdDevice: number;
  readonly iManufacturer: number;
  readonly iProduct: number;
  readonly iSerialNumber: number;
  readonly numConfigurations: number;
}

/** DFU 1.1 §4.1.3 bmAttributes bits. */
export interface DfuAttributes {
  readonly canDownload: boolean;
  readonly canUpload: boolean;
  readonly manifestationTolerant: boolean;
  readonly willDetach: boolean;
}

export interface DfuFunctionalDescriptor {
  readonly attributes: DfuAttributes;
  readonly rawAttributes: number;
  readonly detachTimeoutMs: number;
  readonly transferSize: number;
  /** 0x0110 for plain DFU 1.1, 0x011A for ST's DfuSe extension. */
  readonly bcdDFU: number;
}

export interface EndpointDescriptor {
  readonly address: number;
  readonly attributes: number;
  readonly maxPacketSize: number;
  readonly interval: number;
}

export interface InterfaceDescriptor {
  readonly interfaceNumber: number;
  readonly alternateSetting: number;
  readonly numEndpoints: number;
  readonly interfaceClass: number;
  readonly interfaceSubClass: number;
  readonly interfaceProtocol: number;
  readonly iInterface: number;
  readonly endpoints: readonly EndpointDescriptor[];
  /** Present on DFU interfaces (class 0xFE, subclass 1) that carry it after the interface descriptor. */
  readonly dfuFunctional?: DfuFunctionalDescriptor;
}

export interface ConfigurationDescriptor {
  readonly totalLength: number;
  readonly numInterfaces: number;
  readonly configurationValue: number;
  readonly iConfiguration: number;
  readonly attributes: number;
  readonly maxPowerMa: number;
  /** Every interface descriptor in order, one entry per alternate setting. */
  readonly interfaces: readonly InterfaceDescriptor[];
}

const malformed = (what: string, details?: Record<string, unknown>): LsFailure =>
  new LsFailure({
    code: 'USB_DESCRIPTOR_INVALID',
    message: `The device sent a malformed ${what}.`,
    remedy: 'The device firmware may be damaged or not a Particle device; try another device.',
    ...(details ? { details } : {}),
  });

const u16 = (b: Uint8Array, o: number): number => (b[o] ?? 0) | ((b[o + 1] ?? 0) << 8);
const u8 = (b: Uint8Array, o: number): number => b[o] ?? 0;

export const parseDeviceDescriptor = (b: Uint8Array): DeviceDescriptor => {
  if (b.length < 18 || u8(b, 0) < 18 || u8(b, 1) !== DESCRIPTOR_DEVICE)
    throw malformed('device descriptor', { length: b.length });
  return {
    bcdUSB: u16(b, 2),
    deviceClass: u8(b, 4),
    deviceSubClass: u8(b, 5),
    deviceProtocol: u8(b, 6),
    maxPacketSize0: u8(b, 7),
    vendorId: u16(b, 8),
    productId: u16(b, 10),
    bcdDevice: u16(b, 12),
    iManufacturer: u8(b, 14),
    iProduct: u8(b, 15),
    iSerialNumber: u8(b, 16),
    numConfigurations: u8(b, 17),
  };
};

export const parseDfuFunctional = (b: Uint8Array, offset = 0): DfuFunctionalDescriptor => {
  const len = u8(b, offset);
  // DFU 1.1 says bLength is 9; some DFU 1.0 devices send 7 (no bcdDFUVersion), which means 1.0.
  if (len < 7 || u8(b, offset + 1) !== DESCRIPTOR_DFU_FUNCTIONAL || offset + len > b.length)
    throw malformed('DFU functional descriptor', { length: len });
  const attrs = u8(b, offset + 2);
  return {
    rawAttributes: attrs,
    attributes: {
      canDownload: (attrs & 0x01) !== 0,
      canUpload: (attrs & 0x02) !== 0,
      manifestationTolerant: (attrs & 0x04) !== 0,
      willDetach: (attrs & 0x08) !== 0,
    },
    detachTimeoutMs: u16(b, offset + 3),
    transferSize: u16(b, offset + 5),
    bcdDFU: len >= 9 ? u16(b, offset + 7) : 0x0100,
  };
};

/** Parses a full configuration descriptor set (wTotalLength bytes): interfaces, endpoints, DFU functional. */
export const parseConfigurationDescriptor = (b: Uint8Array): ConfigurationDescriptor => {
  if (b.length < 9 || u8(b, 1) !== DESCRIPTOR_CONFIGURATION)
    throw malformed('configuration descriptor', { length: b.length });
  const totalLength = u16(b, 2);
  if (totalLength > b.length)
    throw malformed('configuration descriptor', { totalLength, received: b.length });
  type MutableInterface = {
    -readonly [K in keyof InterfaceDescriptor]: InterfaceDescriptor[K];
  } & { endpoints: EndpointDescriptor[] };
  const interfaces: MutableInterface[] = [];
  let current: MutableInterface | undefined;
  let offset = u8(b, 0);
  while (offset < totalLength) {
    const len = u8(b, offset);
    const type = u8(b, offset + 1);
    // A zero length would loop forever; a length past the end means the device lied about sizes.
    if (len < 2 || offset + len > totalLength)
      throw malformed('configuration descriptor', { offset, length: len });
    if (type === DESCRIPTOR_INTERFACE) {
      if (len < 9) throw malformed('interface descriptor', { offset });
      current = {
        interfaceNumber: u8(b, offset + 2),
        alternateSetting: u8(b, offset + 3),
        numEndpoints: u8(b, offset + 4),
        interfaceClass: u8(b, offset + 5),
        interfaceSubClass: u8(b, offset + 6),
        interfaceProtocol: u8(b, offset + 7),
        iInterface: u8(b, offset + 8),
        endpoints: [],
      };
      interfaces.push(current);
    } else if (type === DESCRIPTOR_ENDPOINT && current) {
      current.endpoints.push({
        address: u8(b, offset + 2),
        attributes: u8(b, offset + 3),
        maxPacketSize: u16(b, offset + 4),
        interval: u8(b, offset + 6),
      });
    } else if (
      type === DESCRIPTOR_DFU_FUNCTIONAL &&
      current &&
      current.interfaceClass === 0xfe &&
      current.interfaceSubClass === 0x01
    ) {
      current.dfuFunctional = parseDfuFunctional(b, offset);
    }
    offset += len;
  }
  return {
    totalLength,
    numInterfaces: u8(b, 4),
    configurationValue: u8(b, 5),
    iConfiguration: u8(b, 6),
    attributes: u8(b, 7),
    maxPowerMa: u8(b, 8) * 2,
    interfaces,
  };
};

/** Decodes a string descriptor's UTF-16LE body (USB 2.0 §9.6.7). */
export const parseStringDescriptor = (b: Uint8Array): string => {
  if (b.length < 2 || u8(b, 1) !== DESCRIPTOR_STRING) throw malformed('string descriptor');
  const len = Math.min(u8(b, 0), b.length);
  let s = '';
  for (let o = 2; o + 1 < len; o += 2) s += String.fromCharCode(u16(b, o));
  return s;
};

/** The supported language IDs from string descriptor 0. */
export const parseLangIds = (b: Uint8Array): number[] => {
  if (b.length < 2 || u8(b, 1) !== DESCRIPTOR_STRING) throw malformed('language ID list');
  const ids: number[] = [];
  for (let o = 2; o + 1 < Math.min(u8(b, 0), b.length); o += 2) ids.push(u16(b, o));
  return ids;
};

const getDescriptor = (
  handle: UsbDeviceHandle,
  type: number,
  index: number,
  langId: number,
  length: number,
  options: TransferOptions,
): Promise<Uint8Array> =>
  handle.controlIn(
    {
      requestType: 'standard',
      recipient: 'device',
      request: GET_DESCRIPTOR,
      value: (type << 8) | index,
      index: langId,
    },
    length,
    options,
  );

export const readDeviceDescriptor = async (
  handle: UsbDeviceHandle,
  options: TransferOptions,
): Promise<DeviceDescriptor> =>
  parseDeviceDescriptor(await getDescriptor(handle, DESCRIPTOR_DEVICE, 0, 0, 18, options));

/** Reads the 9-byte header first for wTotalLength, then the whole set, as hosts do. */
export const readConfigurationDescriptor = async (
  handle: UsbDeviceHandle,
  options: TransferOptions,
  index = 0,
): Promise<ConfigurationDescriptor> => {
  const head = await getDescriptor(handle, DESCRIPTOR_CONFIGURATION, index, 0, 9, options);
  if (head.length < 4 || u8(head, 1) !== DESCRIPTOR_CONFIGURATION)
    throw malformed('configuration descriptor');
  const total = u16(head, 2);
  return parseConfigurationDescriptor(
    await getDescriptor(handle, DESCRIPTOR_CONFIGURATION, index, 0, total, options),
  );
};

/**
 * Reads string descriptor `index`; index 0 means "no string" and yields undefined. Asks for the
 * maximum length (255) in one request: every device must return only what it has.
 */
export const readStringDescriptor = async (
  handle: UsbDeviceHandle,
  index: number,
  options: TransferOptions,
  langId = LANGID_EN_US,
): Promise<string | undefined> => {
  if (index === 0) return undefined;
  return parseStringDescriptor(await getDescriptor(handle, DESCRIPTOR_STRING, index, langId, 255, options));
};

/** Particle device IDs: lower-case, printable only (old bootloaders pad with junk). */
export const normalizeSerial = (serial: string | undefined): string | undefined => {
  if (serial === undefined) return undefined;
  const s = serial.replace(/[^\x21-\x7e]/g, '').toLowerCase();
  return s.length > 0 ? s : undefined;
};

/** `vvvv:pppp`, the way lsusb and udev rules write a USB vendor and product ID. */
export const usbIdText = (info: { readonly vendorId: number; readonly productId: number }): string =>
  `${info.vendorId.toString(16).padStart(4, '0')}:${info.productId.toString(16).padStart(4, '0')}`;
