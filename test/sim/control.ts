import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import { SERVICE, SERVICE_STATUS, type SimDevice } from '../../core/sim';
import { dataOf } from './helpers';

/*
 * Driving a simulated device through its USB control endpoint the way a host does (INIT, SEND,
 * CHECK until done, RECV), with messages encoded by Particle's own protobuf definitions rather
 * than the simulator's hand-written encoder, and a builder for module binaries.
 */

interface Codec {
  encode(o: Record<string, unknown>): { finish(): Uint8Array };
  decode(b: Uint8Array): Record<string, unknown>;
}
const require = createRequire(import.meta.url);
const proto = (require('@particle/device-os-protobuf') as { definitions: Record<string, unknown> })
  .definitions;

/** `GetDeviceIdReply`, or a namespaced one such as `cellular.GetIccidReply`. */
const codec = (name: string): Codec => {
  let c: unknown = proto;
  for (const part of name.split('.')) c = (c as Record<string, unknown> | undefined)?.[part];
  if (!c) throw new Error(`no protobuf definition ${name}`);
  return c as Codec;
};

export const encode = (name: string, o: Record<string, unknown> = {}): Uint8Array =>
  new Uint8Array(codec(name).encode(o).finish());

export const decode = (name: string, b: Uint8Array): Record<string, unknown> => codec(name).decode(b);

interface Reply {
  flags: number;
  status: number;
  id?: number;
  size?: number;
  result?: number;
}

export const parseReply = (b: Uint8Array): Reply => {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const flags = v.getUint32(0, true);
  const rep: Reply = { flags, status: v.getUint16(4, true) };
  let o = 6;
  if (flags & 2) {
    rep.id = v.getUint16(o, true);
    o += 2;
  }
  if (flags & 4) {
    rep.size = v.getUint32(o, true);
    o += 4;
  }
  if (flags & 8) rep.result = v.getInt32(o, true);
  return rep;
};

const service = async (d: SimDevice, bRequest: number, wIndex: number, wValue = 0) =>
  parseReply(dataOf(await d.handleControl({ bmRequestType: 0xc0, bRequest, wValue, wIndex, wLength: 64 })));

/** INIT + SEND only: the request is in the device; returns its ID (for CHECK by hand). */
export const begin = async (d: SimDevice, type: number, payload: Uint8Array): Promise<number> => {
  const init = await service(d, SERVICE.INIT, type, payload.length);
  if (init.id === undefined) throw new Error(`INIT answered status ${init.status}`);
  const r = await d.handleControl(
    { bmRequestType: 0x40, bRequest: SERVICE.SEND, wValue: 0, wIndex: init.id, wLength: payload.length },
    payload,
  );
  if (r.status !== 'ok') throw new Error(`SEND failed: ${r.status}`);
  return init.id;
};

/** One CHECK of request `id`. */
export const check = (d: SimDevice, id: number): Promise<Reply> => service(d, SERVICE.CHECK, id);

export interface CallResult {
  /** The service status of the last step (OK, or BUSY / NOT_FOUND / PENDING when it never completed). */
  readonly status: number;
  readonly result?: number;
  readonly data: Uint8Array;
}

/** One whole request; gives up (status PENDING) after `maxChecks` CHECKs that were still pending. */
export const call = async (
  d: SimDevice,
  type: number,
  payload: Uint8Array = new Uint8Array(0),
  maxChecks = 200,
): Promise<CallResult> => {
  const init = await service(d, SERVICE.INIT, type, payload.length);
  if (init.status !== SERVICE_STATUS.OK || init.id === undefined)
    return { status: init.status, data: new Uint8Array(0) };
  const id = init.id;
  if (payload.length > 0) {
    const r = await d.handleControl(
      { bmRequestType: 0x40, bRequest: SERVICE.SEND, wValue: 0, wIndex: id, wLength: payload.length },
      payload,
    );
    if (r.status !== 'ok') throw new Error(`SEND failed: ${r.status}`);
  }
  for (let i = 0; i < maxChecks; i++) {
    const check = await service(d, SERVICE.CHECK, id);
    if (check.status === SERVICE_STATUS.PENDING) {
      await new Promise((r) => setImmediate(r));
      continue;
    }
    let data: Uint8Array = new Uint8Array(0);
    if (check.size) {
      data = dataOf(
        await d.handleControl({
          bmRequestType: 0xc0,
          bRequest: SERVICE.RECV,
          wValue: 0,
          wIndex: id,
          wLength: check.size,
        }),
      );
    }
    return { status: check.status, ...(check.result === undefined ? {} : { result: check.result }), data };
  }
  return { status: SERVICE_STATUS.PENDING, data: new Uint8Array(0) };
};

/** The request types of this work, by name. */
export const REQ = {
  SET_SETUP_DONE: 73,
  IS_SETUP_DONE: 74,
  GET_PROTECTED_STATE: 76,
  SET_PROTECTED_STATE: 77,
  MODULE_INFO: 90,
  GET_ASSET_INFO: 91,
  START: 250,
  FINISH: 251,
  CANCEL: 252,
  DATA: 253,
} as const;

/**
 * particle-usb's updateFirmware, step by step: START with the size, DATA in chunk_size pieces,
 * FINISH. Returns the first failing step's result, or the FINISH result.
 */
export const updateFirmware = async (
  d: SimDevice,
  image: Uint8Array,
  { validateOnly = false }: { validateOnly?: boolean } = {},
): Promise<{ step: 'start' | 'data' | 'finish'; result: number | undefined }> => {
  const start = await call(d, REQ.START, encode('StartFirmwareUpdateRequest', { size: image.length }));
  if (start.result !== 0) return { step: 'start', result: start.result };
  const chunk = Number(decode('StartFirmwareUpdateReply', start.data).chunkSize);
  for (let o = 0; o < image.length; o += chunk) {
    const r = await call(
      d,
      REQ.DATA,
      encode('FirmwareUpdateDataRequest', { data: image.subarray(o, o + chunk) }),
    );
    if (r.result !== 0) return { step: 'data', result: r.result };
  }
  const fin = await call(d, REQ.FINISH, encode('FinishFirmwareUpdateRequest', { validateOnly }));
  return { step: 'finish', result: fin.result };
};

export interface ModuleSpec {
  platformId: number;
  func: number;
  index?: number;
  version: number;
  start: number;
  /** Total size including the CRC (at least prefix + suffix + CRC). */
  size?: number;
  flags?: number;
  mcuTarget?: number;
  deps?: { func: number; index: number; version: number }[];
  /** Put the prefix after a vector table (nRF52840: 0x200, first word an initial stack pointer). */
  vectorTable?: boolean;
  /** Add the SECURITY_MODE suffix extension with mode PROTECTED (a protected bootloader). */
  protectedExt?: boolean;
  /** Corrupt the stored CRC. */
  badCrc?: boolean;
}

/**
 * A module binary laid out as Particle builds them: prefix, body, suffix (extensions, reserved,
 * SHA-256 of what precedes it, suffix size), CRC-32 big-endian.
 */
export const makeModule = (s: ModuleSpec): Uint8Array => {
  const size = s.size ?? 4096;
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + s.version) & 0xff;
  const v = new DataView(b.buffer);
  const info = s.vectorTable ? 0x200 : 0;
  if (s.vectorTable) v.setUint32(0, 0x2003f000, true);
  const end = s.start + size - 4;
  v.setUint32(info, s.start, true);
  v.setUint32(info + 4, end, true);
  b[info + 8] = s.mcuTarget ?? 0;
  b[info + 9] = s.flags ?? 0;
  v.setUint16(info + 10, s.version, true);
  v.setUint16(info + 12, s.platformId, true);
  b[info + 14] = s.func;
  b[info + 15] = s.index ?? 0;
  b.fill(0, info + 16, info + 24);
  (s.deps ?? []).slice(0, 2).forEach((d, i) => {
    b[info + 16 + i * 4] = d.func;
    b[info + 17 + i * 4] = d.index;
    v.setUint16(info + 18 + i * 4, d.version, true);
  });
  const moduleEnd = size - 4;
  const ext = s.protectedExt
    ? Uint8Array.of(0x13, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x04, 0x00) // SECURITY_MODE 1, END
    : new Uint8Array(0);
  const suffixSize = ext.length + 36;
  const suffixStart = moduleEnd - suffixSize;
  b.set(ext, suffixStart);
  v.setUint16(suffixStart + ext.length, 0, true);
  const sha = createHash('sha256').update(b.subarray(0, suffixStart)).digest();
  b.set(sha, suffixStart + ext.length + 2);
  v.setUint16(moduleEnd - 2, suffixSize, true);
  v.setUint32(moduleEnd, (crc32(b.subarray(0, moduleEnd)) ^ (s.badCrc ? 1 : 0)) >>> 0, false);
  return b;
};

/** The SHA-256 a module built by makeModule carries in its suffix. */
export const suffixShaOf = (module: Uint8Array): Uint8Array =>
  module.slice(module.length - 4 - 34, module.length - 4 - 2);
