import type { SetupPacket } from '../types';

/*
 * The byte formats a FunctionFS function speaks on its ep0 file (include/uapi/linux/usb/functionfs.h):
 * the descriptors blob and the strings blob written once after open, and the 12-byte events read
 * back. Pure functions, so they are tested without a kernel.
 */

const DESCRIPTORS_MAGIC_V2 = 3;
const STRINGS_MAGIC = 2;

/** `enum functionfs_flags`. */
export const FfsFlag = {
  HAS_FS_DESC: 1,
  HAS_HS_DESC: 2,
  HAS_SS_DESC: 4,
  /**
   * Deliver control requests for every recipient, not only our interfaces/endpoints. Particle's
   * control requests are vendor requests to the DEVICE, so normal mode needs this.
   */
  ALL_CTRL_RECIP: 64,
} as const;

/** `enum usb_functionfs_event_type`. */
export const FfsEventType = {
  BIND: 0,
  UNBIND: 1,
  ENABLE: 2,
  DISABLE: 3,
  SETUP: 4,
  SUSPEND: 5,
  RESUME: 6,
} as const;
export type FfsEventType = (typeof FfsEventType)[keyof typeof FfsEventType];

export const FFS_EVENT_SIZE = 12;

export type FfsEvent =
  | { readonly type: typeof FfsEventType.SETUP; readonly setup: SetupPacket }
  | { readonly type: Exclude<FfsEventType, typeof FfsEventType.SETUP> };

export interface FfsFunctionDescriptors {
  /** Interface-level descriptors (interface, class-specific, endpoint), concatenated, in order. */
  readonly descriptors: Uint8Array;
  /** How many descriptors `descriptors` holds (the kernel wants the count, not the length). */
  readonly count: number;
  readonly flags?: number;
}

/** Counts the descriptors in a concatenation by walking bLength; throws on a malformed one. */
export const countDescriptors = (bytes: Uint8Array): number => {
  let n = 0;
  let offset = 0;
  while (offset < bytes.length) {
    const len = bytes[offset] ?? 0;
    if (len < 2 || offset + len > bytes.length)
      throw new RangeError(`malformed descriptor at offset ${offset} (bLength ${len})`);
    offset += len;
    n++;
  }
  return n;
};

/**
 * FUNCTIONFS_DESCRIPTORS_MAGIC_V2 blob with the same descriptors for full and high speed:
 * dummy_hcd runs at full speed like a Particle device, but a high-speed UDC would want both.
 */
export const encodeDescriptorsBlob = (fn: FfsFunctionDescriptors): Uint8Array => {
  const flags = FfsFlag.HAS_FS_DESC | FfsFlag.HAS_HS_DESC | (fn.flags ?? 0);
  const headerLen = 12 + 8;
  const total = headerLen + 2 * fn.descriptors.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, DESCRIPTORS_MAGIC_V2, true);
  view.setUint32(4, total, true);
  view.setUint32(8, flags, true);
  view.setUint32(12, fn.count, true);
  view.setUint32(16, fn.count, true);
  out.set(fn.descriptors, headerLen);
  out.set(fn.descriptors, headerLen + fn.descriptors.length);
  return out;
};

/**
 * FUNCTIONFS_STRINGS_MAGIC blob, one language (en-US). String N (1-based) in the descriptors is
 * `strings[N - 1]`; the kernel renumbers them into the gadget's string table.
 */
export const encodeStringsBlob = (strings: readonly string[], langId = 0x0409): Uint8Array => {
  const encoder = new TextEncoder();
  const bodies = strings.map((s) => encoder.encode(s));
  const langs = strings.length > 0 ? 1 : 0;
  const total = 16 + (langs ? 2 + bodies.reduce((n, b) => n + b.length + 1, 0) : 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, STRINGS_MAGIC, true);
  view.setUint32(4, total, true);
  view.setUint32(8, strings.length, true);
  view.setUint32(12, langs, true);
  if (langs) {
    view.setUint16(16, langId, true);
    let offset = 18;
    for (const b of bodies) {
      out.set(b, offset);
      offset += b.length + 1; // NUL terminator: already zero
    }
  }
  return out;
};

export const parseSetup = (b: Uint8Array, offset = 0): SetupPacket => {
  const view = new DataView(b.buffer, b.byteOffset + offset, 8);
  return {
    bmRequestType: view.getUint8(0),
    bRequest: view.getUint8(1),
    wValue: view.getUint16(2, true),
    wIndex: view.getUint16(4, true),
    wLength: view.getUint16(6, true),
  };
};

/** Splits what one read of ep0 returned into events; a trailing partial event is a kernel bug. */
export const parseEvents = (b: Uint8Array): FfsEvent[] => {
  if (b.length % FFS_EVENT_SIZE !== 0)
    throw new RangeError(`FunctionFS returned ${b.length} bytes, not a multiple of ${FFS_EVENT_SIZE}`);
  const events: FfsEvent[] = [];
  for (let o = 0; o < b.length; o += FFS_EVENT_SIZE) {
    const type = b[o + 8] ?? 0;
    if (type === FfsEventType.SETUP) events.push({ type, setup: parseSetup(b, o) });
    else if (type <= FfsEventType.RESUME) events.push({ type: type as Exclude<FfsEventType, 4> });
    // Unknown event types come from newer kernels; nothing here depends on them.
  }
  return events;
};

export const isDeviceToHost = (setup: SetupPacket): boolean => (setup.bmRequestType & 0x80) !== 0;
