/**
 * The few protobuf messages the simulated Device OS reads and sends, hand-written (proto3 wire
 * format: varint = 0, fixed64 = 1, length-delimited = 2, fixed32 = 5). Like nanopb on the device,
 * fields holding their default value (0, empty) are omitted. Field numbers come from
 * @particle/device-os-protobuf: control/config.proto (GetDeviceIdReply, GetSerialNumberReply,
 * GetSystemVersionReply, GetDeviceModeReply, Set/IsDeviceSetupDone, Get/SetProtectedState),
 * control/storage.proto (firmware update, GetModuleInfoReply), control/cellular.proto
 * (GetIccidReply) and cloud/describe.proto (FirmwareModule, FirmwareModuleDependency,
 * FirmwareModuleSecurity).
 */

import { createHash } from 'node:crypto';
import type { SimModule } from './types';

const varint = (value: number): number[] => {
  const out: number[] = [];
  let v = value >>> 0;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return out;
};

const key = (field: number, wire: number): number[] => varint((field << 3) | wire);

export class ProtoWriter {
  private readonly bytes: number[] = [];

  uint(field: number, value: number): this {
    if (value !== 0) this.bytes.push(...key(field, 0), ...varint(value));
    return this;
  }

  fixed32(field: number, value: number): this {
    if (value !== 0) {
      const v = value >>> 0;
      this.bytes.push(...key(field, 5), v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    }
    return this;
  }

  bytesField(field: number, data: Uint8Array): this {
    if (data.length > 0) this.bytes.push(...key(field, 2), ...varint(data.length), ...data);
    return this;
  }

  bool(field: number, value: boolean): this {
    return this.uint(field, value ? 1 : 0);
  }

  string(field: number, text: string): this {
    return this.bytesField(field, new TextEncoder().encode(text));
  }

  /** Embedded messages are written even when empty: a repeated element must still appear. */
  message(field: number, inner: ProtoWriter): this {
    const data = inner.finish();
    this.bytes.push(...key(field, 2), ...varint(data.length), ...data);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export const encodeDeviceIdReply = (deviceId: string): Uint8Array =>
  new ProtoWriter().string(1, deviceId).finish();

/** GetSerialNumberReply { string serial = 1 [max_length 16] } (control/config.proto). */
export const encodeSerialNumberReply = (serial: string): Uint8Array =>
  new ProtoWriter().string(1, serial).finish();

/** GetSystemVersionReply { string version = 1 } (control/config.proto). */
export const encodeSystemVersionReply = (version: string): Uint8Array =>
  new ProtoWriter().string(1, version).finish();

/** cellular.GetIccidReply { string iccid = 1; string imei = 2 } (control/cellular.proto). */
export const encodeIccidReply = (iccid: string, imei: string): Uint8Array =>
  new ProtoWriter().string(1, iccid).string(2, imei).finish();

/** DeviceMode: NORMAL_MODE 0, LISTENING_MODE 1. NORMAL encodes to an empty message. */
export const encodeDeviceModeReply = (listening: boolean): Uint8Array =>
  new ProtoWriter().uint(1, listening ? 1 : 0).finish();

/** The legacy (pre-5.6.0) enum in control/storage.proto numbers module types differently. */
const LEGACY_MODULE_TYPE: Readonly<Record<number, number>> = { 2: 1, 4: 2, 5: 3, 3: 4, 7: 5, 8: 6 };

/** All validation checks a module goes through (integrity, dependencies, range, platform). */
const ALL_CHECKS = 0x02 | 0x04 | 0x08 | 0x10;

/**
 * GetModuleInfoReply. Device OS 5.6.0 and later fill `modules` (field 2, cloud FirmwareModule);
 * older releases fill `modules_deprecated` (field 1) with the legacy type enum and validity flags
 * (1 = integrity check failed, 2 = dependency check failed).
 */
export const encodeModuleInfoReply = (modules: readonly SimModule[], newFormat: boolean): Uint8Array => {
  const w = new ProtoWriter();
  for (const m of modules) {
    const failed = m.failedFlags ?? 0;
    if (newFormat) {
      const mod = new ProtoWriter()
        .uint(1, m.func)
        .uint(2, m.index)
        .uint(3, m.version)
        .uint(4, 0) // MAIN_MODULE_STORE
        .uint(5, m.maxSize ?? m.size)
        .fixed32(6, ALL_CHECKS)
        .fixed32(7, ALL_CHECKS & ~failed)
        // particle-usb 4.1.0 reads `hash.toString('hex')` unconditionally: Device OS always sends it
        // (storage.cpp asks for FORCE_SHA: the 32 bytes of the module suffix, zeros included).
        .bytesField(8, m.hash ?? createHash('sha256').update(`${m.func}:${m.index}:${m.version}`).digest());
      for (const d of m.dependencies ?? []) {
        mod.message(9, new ProtoWriter().uint(1, d.func).uint(2, d.index).uint(3, d.version));
      }
      mod.uint(11, m.size);
      // FirmwareModuleSecurity: Device OS reports mode PROTECTED for a bootloader carrying the
      // SECURITY_MODE suffix extension (system_info_encoding.cpp).
      if (m.protected) mod.message(12, new ProtoWriter().uint(1, 1));
      w.message(2, mod);
    } else {
      const legacyValidity = (failed & 0x02 ? 1 : 0) | (failed & 0x04 ? 2 : 0);
      const mod = new ProtoWriter()
        .uint(1, LEGACY_MODULE_TYPE[m.func] ?? 0)
        .uint(2, m.index)
        .uint(3, m.version)
        .uint(4, m.size)
        .uint(5, legacyValidity);
      for (const d of m.dependencies ?? []) {
        mod.message(
          6,
          new ProtoWriter()
            .uint(1, LEGACY_MODULE_TYPE[d.func] ?? 0)
            .uint(2, d.index)
            .uint(3, d.version),
        );
      }
      w.message(1, mod);
    }
  }
  return w.finish();
};

/* ---- requests the device decodes ---- */

/** One decoded field: varints as numbers (our fields are 32-bit), length-delimited as bytes. */
export type ProtoValue = number | Uint8Array;

/**
 * Splits a message into its fields (last occurrence wins for singular fields, as in protobuf).
 * Returns undefined for bytes nanopb would refuse (truncated, bad wire type): the caller answers
 * SYSTEM_ERROR_BAD_DATA, as Device OS's decodeRequestMessage does.
 */
export const readMessage = (b: Uint8Array): Map<number, ProtoValue> | undefined => {
  const out = new Map<number, ProtoValue>();
  let o = 0;
  const readVarint = (): number | undefined => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      const byte = b[o++];
      if (byte === undefined) return undefined;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return value;
    }
    return undefined;
  };
  while (o < b.length) {
    const k = readVarint();
    if (k === undefined) return undefined;
    const field = Math.floor(k / 8);
    const wire = k % 8;
    if (field === 0) return undefined;
    if (wire === 0) {
      const v = readVarint();
      if (v === undefined) return undefined;
      // uint32/bool/enum fields keep their low 32 bits (a negative enum arrives as 10 bytes).
      out.set(field, v % 2 ** 32);
    } else if (wire === 2) {
      const n = readVarint();
      if (n === undefined || o + n > b.length) return undefined;
      out.set(field, b.slice(o, o + n));
      o += n;
    } else if (wire === 5 || wire === 1) {
      const n = wire === 5 ? 4 : 8;
      if (o + n > b.length) return undefined;
      out.set(field, new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0, true));
      o += n;
    } else {
      return undefined;
    }
  }
  return out;
};

const num = (m: Map<number, ProtoValue>, field: number): number => {
  const v = m.get(field);
  return typeof v === 'number' ? v : 0;
};
const bytesOf = (m: Map<number, ProtoValue>, field: number): Uint8Array => {
  const v = m.get(field);
  return v instanceof Uint8Array ? v : new Uint8Array(0);
};

/** StartFirmwareUpdateRequest { uint32 size = 1; FileFormat format = 2 } (BIN 0, MINIZ 1). */
export const decodeStartFirmwareUpdate = (b: Uint8Array): { size: number; format: number } | undefined => {
  const m = readMessage(b);
  return m && { size: num(m, 1), format: num(m, 2) };
};

/** FirmwareUpdateDataRequest { bytes data = 1 }. */
export const decodeFirmwareUpdateData = (b: Uint8Array): { data: Uint8Array } | undefined => {
  const m = readMessage(b);
  return m && { data: bytesOf(m, 1) };
};

/** FinishFirmwareUpdateRequest { bool validate_only = 1 }. */
export const decodeFinishFirmwareUpdate = (b: Uint8Array): { validateOnly: boolean } | undefined => {
  const m = readMessage(b);
  return m && { validateOnly: num(m, 1) !== 0 };
};

/** SetDeviceSetupDoneRequest { bool done = 1 }. */
export const decodeSetDeviceSetupDone = (b: Uint8Array): { done: boolean } | undefined => {
  const m = readMessage(b);
  return m && { done: num(m, 1) !== 0 };
};

/** SetProtectedStateRequest.Action: RESET 0, PREPARE 1, CONFIRM 2. */
export const PROTECTED_STATE_ACTION = { RESET: 0, PREPARE: 1, CONFIRM: 2 } as const;

export interface SetProtectedStateRequest {
  readonly action: number;
  readonly serverNonce: Uint8Array;
  readonly serverSignature: Uint8Array;
  readonly serverPublicKeyFingerprint: Uint8Array;
}

/**
 * SetProtectedStateRequest { Action action = 1; Prepare prepare = 2 { bytes server_nonce = 1 };
 * Confirm confirm = 3 { bytes server_signature = 1; bytes server_public_key_fingerprint = 2 } }.
 * nanopb gives server_nonce and the fingerprint max_size 32: longer ones fail to decode.
 */
export const decodeSetProtectedState = (b: Uint8Array): SetProtectedStateRequest | undefined => {
  const m = readMessage(b);
  if (!m) return undefined;
  const prepare = readMessage(bytesOf(m, 2));
  const confirm = readMessage(bytesOf(m, 3));
  if (!prepare || !confirm) return undefined;
  const serverNonce = bytesOf(prepare, 1);
  const serverPublicKeyFingerprint = bytesOf(confirm, 2);
  if (serverNonce.length > 32 || serverPublicKeyFingerprint.length > 32) return undefined;
  return {
    action: num(m, 1),
    serverNonce,
    serverSignature: bytesOf(confirm, 1),
    serverPublicKeyFingerprint,
  };
};

/* ---- replies ---- */

/** StartFirmwareUpdateReply { uint32 chunk_size = 1 }. */
export const encodeStartFirmwareUpdateReply = (chunkSize: number): Uint8Array =>
  new ProtoWriter().uint(1, chunkSize).finish();

/** IsDeviceSetupDoneReply { bool done = 1 }. */
/**
 * GetAssetInfoReply { repeated FirmwareModuleAsset available = 1; repeated FirmwareModuleAsset
 * required = 2 } (control/storage.proto), with FirmwareModuleAsset { bytes hash = 1; string name = 2;
 * uint32 size = 3; uint32 storage_size = 4 } (cloud/describe.proto).
 */
export const encodeAssetInfoReply = (
  available: readonly { name: string; hash: Uint8Array; size: number; storageSize: number }[],
  required: readonly { name: string; hash: Uint8Array; size: number; storageSize: number }[] = [],
): Uint8Array => {
  const w = new ProtoWriter();
  const info = (a: { name: string; hash: Uint8Array; size: number; storageSize: number }) =>
    new ProtoWriter().bytesField(1, a.hash).string(2, a.name).uint(3, a.size).uint(4, a.storageSize);
  for (const a of available) w.message(1, info(a));
  for (const a of required) w.message(2, info(a));
  return w.finish();
};

export const encodeIsDeviceSetupDoneReply = (done: boolean): Uint8Array =>
  new ProtoWriter().bool(1, done).finish();

/** GetProtectedStateReply { bool state = 1; bool overridden = 2 }. */
export const encodeGetProtectedStateReply = (state: boolean, overridden: boolean): Uint8Array =>
  new ProtoWriter().bool(1, state).bool(2, overridden).finish();

/**
 * SetProtectedStateReply { optional Prepare prepare = 1 { bytes device_nonce = 1;
 * bytes device_signature = 2; bytes device_public_key_fingerprint = 3 } }. Without `prepare` (a
 * device that is not protected) the reply is empty.
 */
export const encodeSetProtectedStateReply = (prepare?: {
  deviceNonce: Uint8Array;
  deviceSignature: Uint8Array;
  devicePublicKeyFingerprint: Uint8Array;
}): Uint8Array => {
  const w = new ProtoWriter();
  if (prepare) {
    w.message(
      1,
      new ProtoWriter()
        .bytesField(1, prepare.deviceNonce)
        .bytesField(2, prepare.deviceSignature)
        .bytesField(3, prepare.devicePublicKeyFingerprint),
    );
  }
  return w.finish();
};
